/* Content digests: sha256 (OpenSSL's libcrypto), the OCI "sha256:<hex>" form. */
#ifndef FB_DIGEST_H
#define FB_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

struct fb_err;

struct fb_sha256 {
	void *ctx; /* SHA256_CTX */
};

void fb_sha256_init(struct fb_sha256 *h);
void fb_sha256_update(struct fb_sha256 *h, const void *p, size_t n);
/* "sha256:<64 hex>" into out (72 bytes); frees the context. */
void fb_sha256_final(struct fb_sha256 *h, char out[72]);
void fb_sha256_free(struct fb_sha256 *h);
void fb_sha256_mem(const void *p, size_t n, char out[72]);

/* "sha256:" and exactly 64 lower-case hex digits (the only algorithm we
 * accept: any other is refused rather than trusted). */
bool fb_digest_valid(const char *d);
/* The hex part of a valid digest. */
const char *fb_digest_hex(const char *d);

#endif
