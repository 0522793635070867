/* The guest's /etc/hosts and /etc/profile.d/run-env.sh, as text. fb-jail
 * prepare writes them into the VM's copy of the image (a TCG guest's first
 * ext4 writes, before its workload could start, cost it ~20 ms); fb-init
 * reads them and writes what is missing or differs. One definition for
 * both (fb-init builds from tools/ alone, with musl: no lib/ here). */
#ifndef FB_ETC_H
#define FB_ETC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* localhost and the hostname; malloc'd, NULL when out of memory. */
static inline char *fb_etc_hosts(const char *hostname)
{
	static const char fmt[] = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n";
	const char *h = hostname && *hostname ? hostname : "localhost";
	size_t n = sizeof(fmt) + strlen(h);
	char *t = malloc(n);
	if (t)
		snprintf(t, n, fmt, h);
	return t;
}

/* `export K='V'` for each K=V of env (n of them), shell-quoted ('it'\''s');
 * what has no name is left out. malloc'd, NULL when out of memory. */
static inline char *fb_etc_run_env(char *const *env, size_t n)
{
	static const char head[] = "# written by fb-init: the image's ENV, then --env-file files, then --env\n";
	size_t cap = sizeof(head);
	for (size_t i = 0; i < n; i++)
		cap += 11 + 4 * strlen(env[i]); /* "export " "='" "'\n", each ' as 4 */
	char *t = malloc(cap), *p = t;
	if (!t)
		return NULL;
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(env[i], '=');
		if (!eq || eq == env[i])
			continue;
		memcpy(p, "export ", 7);
		p += 7;
		memcpy(p, env[i], (size_t)(eq - env[i]));
		p += eq - env[i];
		*p++ = '=';
		*p++ = '\'';
		for (const char *s = eq + 1; *s; s++) {
			if (*s == '\'') {
				memcpy(p, "'\\''", 4);
				p += 4;
			} else {
				*p++ = *s;
			}
		}
		*p++ = '\'';
		*p++ = '\n';
	}
	*p = '\0';
	return t;
}

#endif
