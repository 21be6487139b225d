/* The peer for db_bench fetch: a plain libpq C program that fetches the same 10,000 rows with a
 * JSONB column synchronously (PQexecParams, text format) and reads every value. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  PGconn* c = PQconnectdb(argv[1]);
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "%s", PQerrorMessage(c));
    return 1;
  }
  int repeats = atoi(argv[2]);
  for (int i = 0; i < repeats; ++i) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    PGresult* r = PQexecParams(c, "SELECT id, name, score, doc FROM bench_fetch ORDER BY id", 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 10000) return 1;
    size_t bytes = 0;
    for (int row = 0; row < PQntuples(r); ++row) {
      long long id = atoll(PQgetvalue(r, row, 0));
      double score = atof(PQgetvalue(r, row, 2));
      bytes += strlen(PQgetvalue(r, row, 1)) + strlen(PQgetvalue(r, row, 3)) + (id < 0) + (score < 0);
    }
    PQclear(r);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("libpq fetch: %.3f ms (%zu bytes)\n", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6, bytes);
  }
  PQfinish(c);
  return 0;
}
