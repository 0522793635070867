/* lib/dockerfile and lib/plan from the inside: the tree, Go quoting,
 * heredoc words, durations. */
#include <string.h>

#include "dockerfile.h"
#include "err.h"
#include "plan.h"
#include "tap.h"

static int parse(const char *text, struct fb_df *df)
{
	struct fb_err err = { 0 };
	int r = fb_df_parse(text, strlen(text), "Dockerfile", df, &err);
	if (r < 0)
		printf("# parse error: %d: %s\n", err.line, err.msg);
	return r;
}

static int tree_shape(void)
{
	struct fb_df df;
	TAP_CHECK(parse("# syntax=docker/dockerfile:1\nFROM a AS b\nRUN --mount=type=cache,target=/c make \\\n  all\n"
			"ONBUILD COPY . /\nHEALTHCHECK --retries=2 CMD [\"true\"]\n", &df) == 0);
	TAP_CHECK(df.n == 4);
	TAP_CHECK(df.ndirectives == 1);
	TAP_STREQ(df.directives[0].name, "syntax");
	TAP_STREQ(df.directives[0].value, "docker/dockerfile:1");
	TAP_STREQ(df.nodes[1].flags.v[0], "--mount=type=cache,target=/c");
	TAP_STREQ(df.nodes[1].args.v[0], "make   all");
	TAP_CHECK(df.nodes[1].start_line == 3 && df.nodes[1].end_line == 4);
	TAP_CHECK(df.nodes[2].sub && !strcmp(df.nodes[2].sub->keyword, "COPY"));
	TAP_CHECK(df.nodes[3].json);
	struct fb_buf b = FB_BUF_INIT;
	fb_df_dump(&df, &b);
	TAP_STREQ(fb_buf_str(&b), "(from \"a\" \"AS\" \"b\")\n(run [\"--mount=type=cache,target=/c\"] \"make   all\")\n"
				  "(onbuild (copy \".\" \"/\"))\n(healthcheck [\"--retries=2\"] \"CMD\" \"true\")\n");
	fb_buf_free(&b);
	fb_df_free(&df);
	return 0;
}

static int go_quote(void)
{
	struct fb_buf b = FB_BUF_INIT;
	const char in[] = "a\"\\\t\x01\xff\xe2\x99\xa5\xc2\xa0";
	fb_go_quote(&b, in, sizeof(in) - 1);
	TAP_STREQ(fb_buf_str(&b), "\"a\\\"\\\\\\t\\x01\\xff\xe2\x99\xa5\\u00a0\"");
	fb_buf_free(&b);
	return 0;
}

static int heredoc_words(void)
{
	struct fb_err err = { 0 };
	struct fb_df_heredoc h = { 0 };
	TAP_CHECK(fb_df_heredoc_word("<<EOF", &h, &err) == 1 && h.expand && !h.chomp && h.fd == 0);
	TAP_STREQ(h.name, "EOF");
	free(h.name);
	TAP_CHECK(fb_df_heredoc_word("3<<-'X Y'", &h, &err) == 1 && !h.expand && h.chomp && h.fd == 3);
	TAP_STREQ(h.name, "X Y");
	free(h.name);
	TAP_CHECK(fb_df_heredoc_word("<<E\"O\"F", &h, &err) == 1 && !h.expand);
	TAP_STREQ(h.name, "EOF");
	free(h.name);
	TAP_CHECK(fb_df_heredoc_word("<<", &h, &err) == 0);
	TAP_CHECK(fb_df_heredoc_word("a<<EOF", &h, &err) == 0);
	TAP_CHECK(fb_df_heredoc_word("<<<EOF", &h, &err) == 0);
	char *c = fb_df_chomp("\t\ta\n\tb\n c\n");
	TAP_STREQ(c, "a\nb\n c\n");
	free(c);
	return 0;
}

static int durations(void)
{
	long long ns;
	TAP_CHECK(fb_parse_duration("30s", &ns) == 0 && ns == 30000000000LL);
	TAP_CHECK(fb_parse_duration("1m30s", &ns) == 0 && ns == 90000000000LL);
	TAP_CHECK(fb_parse_duration("1.5h", &ns) == 0 && ns == 5400000000000LL);
	TAP_CHECK(fb_parse_duration("250ms", &ns) == 0 && ns == 250000000LL);
	TAP_CHECK(fb_parse_duration("0", &ns) == 0 && ns == 0);
	TAP_CHECK(fb_parse_duration("10", &ns) == -1);
	TAP_CHECK(fb_parse_duration("5 s", &ns) == -1);
	TAP_CHECK(fb_parse_duration("", &ns) == -1);
	return 0;
}

static int plan_targets(void)
{
	struct fb_df df;
	TAP_CHECK(parse("FROM scratch AS a\nFROM scratch AS b\nCOPY --from=a x y\nFROM scratch AS c\n", &df) == 0);
	struct fb_plan_opts o = { 0 };
	o.target = "b";
	struct fb_err err = { 0 };
	struct fb_plan plan;
	TAP_CHECK(fb_plan_build(&df, &o, &plan, &err) == 0);
	static const bool needed[] = { true, true, false };
	TAP_CHECK(plan.nstages == FB_ARRAY_LEN(needed));
	for (size_t i = 0; i < plan.nstages; i++)
		TAP_CHECK(plan.stages[i].needed == needed[i]);
	fb_plan_free(&plan);
	fb_df_free(&df);
	return 0;
}

static const struct tap_case cases[] = {
	{ "syntax tree shape and dump", tree_shape },
	{ "Go quoting", go_quote },
	{ "heredoc words", heredoc_words },
	{ "Go durations", durations },
	{ "plan: target and needed stages", plan_targets },
};

TAP_MAIN(cases)
