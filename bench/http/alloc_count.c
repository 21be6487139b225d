// Counts heap allocations of a process (LD_PRELOAD): every malloc, calloc, realloc and aligned
// allocation (operator new ends in malloc), with their bytes. At exit it writes "allocations bytes"
// to $ALLOC_COUNT_OUT. bench/http/allocs.sh runs a server twice under different request counts and
// divides the differences, so start-up and shut-down cancel out.
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);

static atomic_ullong count, bytes;

static void note(size_t n) {
  atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&bytes, n, memory_order_relaxed);
}

void* malloc(size_t n) {
  note(n);
  return __libc_malloc(n);
}
void* calloc(size_t k, size_t n) {
  note(k * n);
  return __libc_calloc(k, n);
}
void* realloc(void* p, size_t n) {
  note(n);
  return __libc_realloc(p, n);
}
void* memalign(size_t a, size_t n) {
  note(n);
  return __libc_memalign(a, n);
}
void* aligned_alloc(size_t a, size_t n) { return memalign(a, n); }
int posix_memalign(void** out, size_t a, size_t n) {
  *out = memalign(a, n);
  return *out ? 0 : 12;  // ENOMEM
}

__attribute__((destructor)) static void report(void) {
  const char* path = getenv("ALLOC_COUNT_OUT");
  if (!path) return;
  FILE* f = fopen(path, "w");
  if (!f) return;
  fprintf(f, "%llu %llu\n", (unsigned long long)atomic_load(&count), (unsigned long long)atomic_load(&bytes));
  fclose(f);
}
