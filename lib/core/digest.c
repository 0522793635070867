#include "digest.h"

/* OpenSSL's SHA256_* calls, not EVP: EVP's first use loads the default
 * provider (~2 ms of every tool's start), and with libcrypto linked in
 * statically (Makefile) only the hash's own code comes with it; the same
 * SHA-NI/AVX2 code either way. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

void fb_sha256_init(struct fb_sha256 *h)
{
	SHA256_CTX *c = malloc(sizeof(*c));
	if (!c || SHA256_Init(c) != 1)
		abort();
	h->ctx = c;
}

void fb_sha256_update(struct fb_sha256 *h, const void *p, size_t n)
{
	SHA256_Update(h->ctx, p, n);
}

void fb_sha256_final(struct fb_sha256 *h, char out[72])
{
	unsigned char md[32];
	SHA256_Final(md, h->ctx);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	fb_sha256_free(h);
}

void fb_sha256_free(struct fb_sha256 *h)
{
	if (h->ctx)
		free(h->ctx);
	h->ctx = NULL;
}

void fb_sha256_mem(const void *p, size_t n, char out[72])
{
	struct fb_sha256 h;
	fb_sha256_init(&h);
	fb_sha256_update(&h, p, n);
	fb_sha256_final(&h, out);
}

bool fb_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7))
		return false;
	const char *x = d + 7;
	return strlen(x) == 64 && strspn(x, "0123456789abcdef") == 64;
}

const char *fb_digest_hex(const char *d)
{
	return d + 7;
}
