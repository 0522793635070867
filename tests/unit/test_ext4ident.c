/* lib/fs/rootfs: the ext4's identity (UUID, hash seed, time) derived from
 * an image's config digest and `created`: the same for the same input,
 * different for another, RFC 3339 read with offsets and fractions, and
 * nothing that libext2fs would read as "now" (0). */
#include <string.h>

#include "rootfs.h"
#include "tap.h"

static int same_seed_same_ident(void)
{
	struct fb_ext4_ident a, b, c;
	fb_ext4_ident_derive("sha256:aa", "2021-03-04T05:06:07Z", &a);
	fb_ext4_ident_derive("sha256:aa", "2021-03-04T05:06:07Z", &b);
	fb_ext4_ident_derive("sha256:ab", "2021-03-04T05:06:07Z", &c);
	TAP_CHECK(!memcmp(&a, &b, sizeof(a)));
	TAP_CHECK(memcmp(a.uuid, c.uuid, 16) && memcmp(a.hash_seed, c.hash_seed, 16));
	TAP_CHECK(memcmp(a.uuid, a.hash_seed, 16));
	/* an RFC 4122 version 4 UUID */
	TAP_CHECK((a.uuid[6] >> 4) == 4 && (a.uuid[8] >> 6) == 2);
	TAP_CHECK(a.time == 1614834367);
	return 0;
}

static int created_forms(void)
{
	static const struct {
		const char *s;
		int64_t t;
	} cases[] = {
		{ "2021-03-04T05:06:07Z", 1614834367 },
		{ "2021-03-04T05:06:07.123456789Z", 1614834367 },
		{ "2021-03-04t05:06:07z", 1614834367 },
		{ "2021-03-04T07:06:07+02:00", 1614834367 },
		{ "2021-03-04T00:06:07-05:00", 1614834367 },
		{ "1970-01-01T00:00:00Z", 1 },   /* 0 would be "now" to libext2fs */
		{ "1969-12-31T23:59:59Z", 1 },
		{ "2200-01-01T00:00:00Z", 4294967295 },
		{ "", 1 },
		{ "yesterday", 1 },
		{ "2021-03-04T05:06:07", 1 },    /* no zone */
		{ "2021-03-04T05:06:07Zjunk", 1 },
		{ "2021-13-04T05:06:07Z", 1 },
		{ "2021-03-04T05:06:07+2:00", 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fb_ext4_ident id;
		fb_ext4_ident_derive("s", cases[i].s, &id);
		if (id.time != cases[i].t)
			return tap_fail("%s: %lld, expected %lld", cases[i].s, (long long)id.time, (long long)cases[i].t);
	}
	struct fb_ext4_ident id;
	fb_ext4_ident_derive(NULL, NULL, &id);
	TAP_CHECK(id.time == 1);
	return 0;
}

static const struct tap_case cases[] = {
	{ "the same seed gives the same UUID and hash seed, another seed others", same_seed_same_ident },
	{ "created: RFC 3339 with fractions and offsets; absent, bad or <= 0 gives 1", created_forms },
};

TAP_MAIN(cases)
