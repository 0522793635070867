/* fb-init: a small JSON reader, what the config drive needs. */
#include "fb-init.h"

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static void put_utf8(char **o, unsigned cp)
{
	unsigned char *u = (unsigned char *)*o;
	if (cp < 0x80) {
		*u++ = (unsigned char)cp;
	} else if (cp < 0x800) {
		*u++ = (unsigned char)(0xc0 | cp >> 6);
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*u++ = (unsigned char)(0xe0 | cp >> 12);
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		*u++ = (unsigned char)(0xf0 | cp >> 18);
		*u++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	}
	*o = (char *)u;
}

static int hex4(const char *p, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		int c = p[i], d = isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		*out = *out * 16 + (unsigned)d;
	}
	return 0;
}

static int jstring(struct jp *j, char **out)
{
	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	/* the text up to the closing quote: what it decodes to is never
	 * longer (an escape is at least as long as its UTF-8). Not the rest
	 * of the document twice over, as it was: a TCG guest paid for each
	 * such block in mmaps and page faults, 3-4 ms for a small config. */
	const char *q = j->p;
	while (q < j->end && *q != '"')
		q += *q == '\\' && q + 1 < j->end ? 2 : 1;
	char *buf = malloc((size_t)(q - j->p) + 1), *o = buf;
	if (!buf)
		return -1;
	while (j->p < j->end && *j->p != '"') {
		char c = *j->p++;
		if (c != '\\') {
			*o++ = c;
			continue;
		}
		if (j->p >= j->end)
			break;
		c = *j->p++;
		switch (c) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'u': {
			unsigned cp, lo;
			if (j->end - j->p < 4 || hex4(j->p, &cp) < 0) {
				free(buf);
				return -1;
			}
			j->p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u' &&
			    hex4(j->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				j->p += 6;
			}
			put_utf8(&o, cp);
			break;
		}
		default: *o++ = c; break;
		}
	}
	if (j->p >= j->end) {
		free(buf);
		return -1;
	}
	j->p++;
	*o = '\0';
	*out = buf;
	return 0;
}

int jvalue(struct jp *j, struct jval *v)
{
	memset(v, 0, sizeof(*v));
	ws(j);
	if (j->p >= j->end || ++j->depth > 32)
		return -1;
	int r = 0;
	char c = *j->p;
	if (c == '"') {
		v->t = J_STR;
		r = jstring(j, &v->s);
	} else if (c == '{' || c == '[') {
		bool obj = c == '{';
		v->t = obj ? J_OBJ : J_ARR;
		j->p++;
		ws(j);
		if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
			j->p++;
		} else {
			for (;;) {
				char *key = NULL;
				if (obj) {
					ws(j);
					if (jstring(j, &key) < 0)
						return -1;
					ws(j);
					if (j->p >= j->end || *j->p++ != ':') {
						free(key);
						return -1;
					}
				}
				struct jval *nv = realloc(v->v, (v->n + 1) * sizeof(*nv));
				char **nk = obj ? realloc(v->k, (v->n + 1) * sizeof(*nk)) : NULL;
				if (!nv || (obj && !nk))
					return -1;
				v->v = nv;
				if (obj) {
					v->k = nk;
					v->k[v->n] = key;
				}
				if (jvalue(j, &v->v[v->n]) < 0)
					return -1;
				v->n++;
				ws(j);
				if (j->p < j->end && *j->p == ',') {
					j->p++;
					continue;
				}
				if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
					j->p++;
					break;
				}
				return -1;
			}
		}
	} else if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "false", 5)) {
		v->t = J_BOOL;
		v->b = *j->p == 't';
		j->p += v->b ? 4 : 5;
	} else if (!strncmp(j->p, "null", 4)) {
		j->p += 4;
	} else {
		v->t = J_NUM;
		/* integers (ids, seconds) without strtod: its float scanner is
		 * ~100 blocks of code a TCG guest translates before its workload */
		const char *q = j->p + (*j->p == '-');
		long long n = 0;
		int digits = 0;
		while (q[digits] >= '0' && q[digits] <= '9' && digits < 16)
			n = n * 10 + (q[digits++] - '0');
		char next = q[digits];
		/* under 16 digits the loop ended on a non-digit */
		if (digits && digits < 16 && next != '.' && next != 'e' && next != 'E' && next != 'x' && next != 'X' &&
		    !(digits > 1 && q[0] == '0')) {
			v->num = *j->p == '-' ? -(double)n : (double)n; /* -0 too */
			j->p = q + digits;
			j->depth--;
			return r;
		}
		char *e;
		v->num = strtod(j->p, &e);
		if (e == j->p)
			return -1;
		j->p = e;
	}
	j->depth--;
	return r;
}

void jfree(struct jval *v)
{
	free(v->s);
	for (size_t i = 0; i < v->n; i++) {
		jfree(&v->v[i]);
		if (v->k)
			free(v->k[i]);
	}
	free(v->v);
	free(v->k);
	memset(v, 0, sizeof(*v));
}

const struct jval *jget(const struct jval *o, const char *key)
{
	if (!o || o->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->k[i], key))
			return &o->v[i];
	return NULL;
}

const char *jstr(const struct jval *o, const char *key)
{
	const struct jval *v = jget(o, key);
	return v && v->t == J_STR ? v->s : NULL;
}

/* An array of strings as a NULL-ended vector (borrowed strings). */
char **jstrv(const struct jval *o, const char *key, size_t *n)
{
	const struct jval *v = jget(o, key);
	*n = 0;
	char **out = calloc((v && v->t == J_ARR ? v->n : 0) + 1, sizeof(char *));
	if (!out)
		fail(125, "out of memory");
	for (size_t i = 0; v && v->t == J_ARR && i < v->n; i++)
		if (v->v[i].t == J_STR)
			out[(*n)++] = v->v[i].s;
	return out;
}
