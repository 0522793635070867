/* fb-init: its own malloc. musl's first malloc in a TCG guest cost 5-9 ms
 * (brk, a guard mapping cut out of it, a group mapped, their first page
 * faults), before the workload could start. fb-init allocates little
 * (the config's strings and arrays, a few lines): from a static arena
 * (.bss: its pages come as they are touched), bumped, as a stack: a free
 * gives back the last block and every block under it freed before, so
 * what a task allocates and frees (the OCI mode's execs) comes back
 * whatever the order of its frees. What does not fit gets a mapping of
 * its own, unmapped when freed. Static linking takes these over musl's.
 * One thread: fb-init never makes another. */
#include "fb-init.h"

#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>

#define ARENA (1u << 20)

struct hdr {
	size_t size;   /* what was asked for */
	size_t mapped; /* the mapping's length; 0: the arena's */
	void *base;    /* the mapping */
	uint32_t prev; /* the arena's: the span (header and data) of the block under it; 0: none */
	uint32_t freed; /* the arena's: freed, to go when the blocks over it have */
};

static unsigned char g_arena[ARENA] __attribute__((aligned(16)));
static size_t g_used; /* the arena's bytes in use */
static size_t g_top;  /* the last block's span; 0: none */

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

static bool last_in_arena(const struct hdr *h)
{
	return !h->mapped && g_top && (const unsigned char *)h == g_arena + g_used - g_top;
}

/* The last block given back, then each freed one under it. */
static void arena_pop(void)
{
	do {
		struct hdr *h = (struct hdr *)(g_arena + g_used - g_top);
		g_used -= g_top;
		g_top = h->prev;
	} while (g_top && ((struct hdr *)(g_arena + g_used - g_top))->freed);
}

/* n bytes aligned to al (a power of two, 16 to 4096) in a mapping. */
static void *mapped(size_t n, size_t al)
{
	if (n > SIZE_MAX - sizeof(struct hdr) - al - 4096) {
		errno = ENOMEM;
		return NULL;
	}
	size_t len = (sizeof(struct hdr) + al + n + 4095) & ~(size_t)4095;
	unsigned char *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
	uintptr_t p = ((uintptr_t)base + sizeof(struct hdr) + al - 1) & ~(uintptr_t)(al - 1);
	struct hdr *h = (struct hdr *)p - 1;
	*h = (struct hdr){ n, len, base, 0, 0 };
	return (void *)p;
}

/* malloc's work, a function of ours: calloc calls it, not malloc, which
 * GCC (-O2) would fold with the memset after it into a call to calloc,
 * that is, to itself. */
static void *alloc(size_t n)
{
	if (n <= ARENA && round16(n) + sizeof(struct hdr) <= ARENA - g_used) {
		struct hdr *h = (struct hdr *)(g_arena + g_used);
		*h = (struct hdr){ n, 0, NULL, (uint32_t)g_top, 0 };
		g_top = sizeof(*h) + round16(n);
		g_used += g_top;
		return h + 1;
	}
	return mapped(n, 16);
}

void *malloc(size_t n)
{
	return alloc(n);
}

void free(void *p)
{
	if (!p)
		return;
	struct hdr *h = (struct hdr *)p - 1;
	if (h->mapped)
		munmap(h->base, h->mapped);
	else if (last_in_arena(h))
		arena_pop();
	else
		h->freed = 1;
}

void *calloc(size_t a, size_t b)
{
	if (b && a > SIZE_MAX / b) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = alloc(a * b);
	if (p)
		memset(p, 0, a * b); /* a block given back and taken again is not zero */
	return p;
}

void *realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	struct hdr *h = (struct hdr *)p - 1;
	if (last_in_arena(h) && n <= ARENA && round16(n) <= ARENA - g_used + round16(h->size)) {
		/* the arena's last block shrinks or grows where it is */
		g_used = g_used - round16(h->size) + round16(n);
		g_top = sizeof(*h) + round16(n);
		h->size = n;
		return p;
	}
	if (n <= h->size)
		return p;
	void *q = alloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, h->size);
	free(p);
	return q;
}

void *aligned_alloc(size_t al, size_t n)
{
	if (!al || (al & (al - 1)) || al > 4096) {
		errno = EINVAL;
		return NULL;
	}
	return al <= 16 ? alloc(n) : mapped(n, al);
}

int posix_memalign(void **out, size_t al, size_t n)
{
	if (al < sizeof(void *) || (al & (al - 1)) || al > 4096)
		return EINVAL;
	void *p = aligned_alloc(al, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *memalign(size_t al, size_t n)
{
	return aligned_alloc(al, n);
}

size_t malloc_usable_size(void *p)
{
	return p ? ((struct hdr *)p - 1)->size : 0;
}
