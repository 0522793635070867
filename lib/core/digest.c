#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

void fb_sha256_init(struct fb_sha256 *h)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
		abort();
	h->ctx = c;
}

void fb_sha256_update(struct fb_sha256 *h, const void *p, size_t n)
{
	EVP_DigestUpdate(h->ctx, p, n);
}

void fb_sha256_final(struct fb_sha256 *h, char out[72])
{
	unsigned char md[32];
	unsigned len = 0;
	EVP_DigestFinal_ex(h->ctx, md, &len);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	fb_sha256_free(h);
}

void fb_sha256_free(struct fb_sha256 *h)
{
	if (h->ctx)
		EVP_MD_CTX_free(h->ctx);
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
