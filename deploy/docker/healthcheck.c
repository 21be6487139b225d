/* The images' HEALTHCHECK: GET /healthz on the service's admin port, from inside the container (the
 * images hold no shell and no curl). Exit 0 on a 200 answer within 2 s, 1 otherwise.
 * The port: the first argument, else $SVCKIT_ADMIN_PORT (the variable that moves the service's admin
 * port too), else 8081; the host is 127.0.0.1 (admin.host's default binds there, 0.0.0.0 includes it).
 * usage: healthcheck [PORT [PATH]]      (PATH: /healthz; /readyz asks for readiness) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  const char* port = argc > 1 ? argv[1] : getenv("SVCKIT_ADMIN_PORT");
  const char* path = argc > 2 ? argv[2] : "/healthz";
  if (!port || !*port) port = "8081";
  char* end = NULL;
  long p = strtol(port, &end, 10);
  if (*end || p <= 0 || p > 65535 || path[0] != '/' || strlen(path) > 200) {
    fprintf(stderr, "healthcheck: bad port \"%s\" or path \"%s\"\n", port, path);
    return 2;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 1;
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)p);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr*)&a, sizeof a) != 0) {
    fprintf(stderr, "healthcheck: cannot connect to 127.0.0.1:%ld\n", p);
    return 1;
  }
  char req[320];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%ld\r\nConnection: close\r\n\r\n", path, p);
  if (write(fd, req, (size_t)n) != n) return 1;
  char buf[64];
  size_t got = 0;
  while (got < 12) {
    ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  buf[got] = '\0';
  close(fd);
  if (strncmp(buf, "HTTP/1.1 200", 12) == 0 || strncmp(buf, "HTTP/1.0 200", 12) == 0) return 0;
  fprintf(stderr, "healthcheck: %s on 127.0.0.1:%ld answered \"%.12s\"\n", path, p, buf);
  return 1;
}
