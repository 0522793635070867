/* lib/plan: the plan built from a Dockerfile (as a struct), its codec
 * (written as fb-parse writes it, read back as the builder reads it), the
 * checks where a plan is read, and the text a step's cache key hashes. */
#include <string.h>

#include "doc.h"
#include "dockerfile.h"
#include "err.h"
#include "plan.h"
#include "tap.h"
#include "util.h"

static int plan_of(const char *text, const char *target, struct fb_plan *p, struct fb_err *err)
{
	struct fb_df df;
	if (fb_df_parse(text, strlen(text), "Dockerfile", &df, err) < 0)
		return -1;
	struct fb_plan_opts o = { .file = "Dockerfile", .target = target, .platform = "linux/arm64/v8" };
	fb_vars_set(&o.build_args, "B", "from-cli");
	int r = fb_plan_build(&df, &o, p, err);
	fb_vars_free(&o.build_args);
	fb_df_free(&df);
	return r;
}

/* Every instruction, so the codec sees every member. */
static const char every[] =
	"# check=skip=JSONArgsRecommended\n"
	"ARG BASE=alpine:3.19\n"
	"FROM $BASE AS base\n"
	"ARG B\n"
	"ENV E=1 F=\"two words\"\n"
	"LABEL l=v\n"
	"WORKDIR /w\n"
	"USER $UNDEFINED\n"
	"RUN --mount=type=cache,target=/c,id=c1,sharing=locked --mount=type=secret,id=s,required --network=none echo $E\n"
	"RUN --mount=type=tmpfs,target=/t,size=10m [\"sh\", \"-c\", \"true\"]\n"
	"RUN <<EOF\necho hi\nEOF\n"
	"COPY --chown=1:2 --chmod=0644 --link --exclude=*.md a b /dst/\n"
	"COPY <<-X /h\n\tbody $E\nX\n"
	"ADD --checksum=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef --keep-git-dir=true https://x/y.tgz /y\n"
	"EXPOSE 80 53/udp\n"
	"VOLUME /v\n"
	"STOPSIGNAL SIGTERM\n"
	"HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://x/\n"
	"SHELL [\"/bin/bash\", \"-c\"]\n"
	"ONBUILD RUN echo child\n"
	"MAINTAINER me\n"
	"ENTRYPOINT [\"/bin/app\"]\n"
	"CMD run\n"
	"FROM scratch AS out\n"
	"COPY --from=base /w /w\n"
	"RUN --mount=type=bind,from=base,source=/w,target=/m true\n"
	"FROM base\n";

static int builds_a_struct(void)
{
	struct fb_plan p;
	struct fb_err err = { 0 };
	if (plan_of(every, NULL, &p, &err) < 0)
		return tap_fail("%s", err.msg);
	TAP_CHECK(p.nstages == 3 && p.target == 2 && p.has_target);
	TAP_STREQ(p.platform, "linux/arm64/v8");
	TAP_CHECK(p.nargs == 1);
	TAP_STREQ(p.args[0].value, "alpine:3.19");
	const struct fb_plan_stage *s0 = &p.stages[0];
	TAP_STREQ(s0->base, "alpine:3.19");
	TAP_STREQ(s0->base_raw, "$BASE");
	TAP_CHECK(s0->base_type == FB_BASE_IMAGE && s0->needed && !s0->env_complete);
	TAP_STREQ(fb_vars_get(&s0->env, "F"), "two words");
	const struct fb_plan_ins *run = &s0->ins[5];
	TAP_CHECK(run->cmd == FB_CMD_RUN && run->nmounts == 2 && !run->exec_form);
	TAP_STREQ(run->mounts[0].sharing, "locked");
	TAP_CHECK(!run->mounts[0].readonly && run->mounts[1].required == 1 && run->mounts[1].readonly);
	TAP_STREQ(run->mounts[1].target, "/run/secrets/s");
	TAP_STREQ(run->network, "none");
	TAP_STREQ(fb_vars_get(&run->args_env, "B"), "from-cli");
	TAP_STREQ(s0->ins[6].mounts[0].size, "10m");
	TAP_CHECK(s0->ins[7].nheredocs == 1);
	const struct fb_plan_ins *copy = &s0->ins[8];
	TAP_CHECK(copy->cmd == FB_CMD_COPY && copy->nsources == 2 && copy->link == 1 && copy->parents == -1);
	TAP_STREQ(copy->chown, "1:2");
	TAP_STREQ(copy->exclude.v[0], "*.md");
	TAP_STREQ(s0->ins[9].sources[0].body, "body 1\n");
	TAP_CHECK(s0->ins[10].keep_git_dir == 1);
	TAP_STREQ(s0->ins[11].ports.v[1], "53/udp");
	TAP_CHECK(s0->ins[14].health->interval == 30000000000LL && s0->ins[14].health->retries == 3);
	TAP_STREQ(s0->ins[16].trigger_cmd, "RUN");
	/* a variable the parser cannot know in an image-based stage */
	const struct fb_plan_ins *user = &s0->ins[4];
	TAP_CHECK(user->has_raw_args && user->unresolved.n == 1 && user->raw_args.n == 1);
	TAP_STREQ(user->unresolved.v[0], "UNDEFINED");
	TAP_STREQ(user->value, "$UNDEFINED");
	const struct fb_plan_stage *s1 = &p.stages[1];
	TAP_CHECK(s1->base_type == FB_BASE_SCRATCH && !s1->needed && s1->ndepends == 1 && s1->depends_on[0] == 0);
	TAP_CHECK(s1->ins[0].from.set && s1->ins[0].from.stage == 0);
	TAP_STREQ(s1->ins[0].from.name, "base");
	TAP_CHECK(s1->ins[1].mounts[0].from.stage == 0);
	TAP_CHECK(p.stages[2].base_type == FB_BASE_STAGE && p.stages[2].base_stage == 0);
	TAP_CHECK(p.nwarnings >= 1); /* MaintainerDeprecated, at least */
	fb_plan_free(&p);
	return 0;
}

static char *encoded(const struct fb_plan *p)
{
	struct fb_doc *d = fb_doc_new();
	fb_plan_doc_set(d, p);
	char *s = fb_doc_dump(d, false);
	fb_doc_free(d);
	return s;
}

static const char *const dockerfiles[] = {
	every,
	"FROM scratch\n",
	"FROM busybox AS a\nFROM a\nCOPY --from=0 / /\n",
	"ARG X\nFROM ${X}\n",
	"FROM scratch\nRUN [\"a\\u0000b\"]\n",
};

/* What fb-parse writes, the builder reads back to the same plan. */
static int written_and_read_back(void)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(dockerfiles); i++) {
		struct fb_plan p, back;
		struct fb_err err = { 0 };
		bool present;
		if (plan_of(dockerfiles[i], NULL, &p, &err) < 0)
			return tap_fail("%zu: %s", i, err.msg);
		char *a = encoded(&p);
		struct fb_doc *d;
		TAP_CHECK(fb_doc_parse(a, strlen(a), &d, &err) == 0);
		if (fb_plan_from_doc(d, true, &back, &present, &err) < 0)
			return tap_fail("%zu: %s", i, err.msg);
		char *b = encoded(&back);
		bool same = !strcmp(a, b);
		if (!same)
			tap_fail("%zu:\n%s\n%s", i, a, b);
		free(a);
		free(b);
		fb_doc_free(d);
		fb_plan_free(&p);
		fb_plan_free(&back);
		if (!same)
			return 1;
	}
	return 0;
}

static const struct {
	const char *plan, *msg;
} refused[] = {
	{ "5", ".plan: expected an object, got number" },
	{ "{}", ".plan.stages: missing (expected an array)" },
	{ "{\"stages\":[]}", ".plan.stages: no stages (a plan has one at least)" },
	{ "{\"stages\":[{\"instructions\":[]}]}", ".plan.stages[0].base_type: missing (expected a string)" },
	{ "{\"stages\":[{\"base_type\":\"other\",\"instructions\":[]}]}",
	  ".plan.stages[0].base_type: expected one of scratch, stage, image, unresolved, got \"other\"" },
	{ "{\"stages\":[{\"base_type\":\"scratch\",\"instructions\":[{\"cmd\":\"RUN\",\"original\":\"RUN\"}]}]}",
	  ".plan.stages[0].instructions[0].args: missing (expected an array)" },
	{ "{\"stages\":[{\"base_type\":\"scratch\",\"instructions\":[{\"cmd\":\"COPY\",\"original\":\"x\",\"sources\":[{}],\"dest\":\"/\"}]}]}",
	  ".plan.stages[0].instructions[0].sources[0]: expected .path, or .heredoc and .body (strings)" },
	{ "{\"stages\":[{\"base_type\":\"scratch\",\"instructions\":[{\"cmd\":\"COPY\",\"original\":\"x\",\"sources\":[],\"dest\":\"/\",\"from\":{}}]}]}",
	  ".plan.stages[0].instructions[0].from: expected .stage (a number) or .image (a string)" },
	{ "{\"stages\":[{\"base_type\":\"scratch\",\"instructions\":[{\"cmd\":\"RUN\",\"original\":\"x\",\"args\":[],\"mounts\":[{\"type\":\"nfs\"}]}]}]}",
	  ".plan.stages[0].instructions[0].mounts[0].type: expected one of bind, cache, tmpfs, secret, ssh, got \"nfs\"" },
	{ "{\"stages\":[{\"base_type\":\"scratch\",\"instructions\":[{\"cmd\":\"RUN\",\"original\":\"x\",\"args\":[],\"mounts\":[{\"type\":\"cache\",\"uid\":-1}]}]}]}",
	  ".plan.stages[0].instructions[0].mounts[0].uid: expected an integer from 0 to 4294967294, got -1" },
	{ "{\"stages\":[{\"base_type\":\"stage\",\"base_stage\":0,\"instructions\":[]}]}",
	  ".plan.stages[0].base_stage: expected the index of an earlier stage (base_type is stage)" },
	{ "{\"target\":{\"index\":1},\"stages\":[{\"base_type\":\"scratch\",\"instructions\":[]}]}",
	  ".plan.target.index: 1 is not a stage (the plan has 1)" },
};

static int checked_where_read(void)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(refused); i++) {
		char *text = fb_xasprintf("{\"plan\":%s}", refused[i].plan);
		struct fb_doc *d;
		struct fb_err err = { 0 };
		TAP_CHECK(fb_doc_parse(text, strlen(text), &d, &err) == 0);
		free(text);
		struct fb_plan p;
		bool present;
		int r = fb_plan_from_doc(d, true, &p, &present, &err);
		fb_doc_free(d);
		if (r == 0) {
			fb_plan_free(&p);
			return tap_fail("%s: taken", refused[i].plan);
		}
		if (err.code != FB_EXIT_USAGE || strcmp(err.msg, refused[i].msg))
			return tap_fail("%s: '%s', want '%s'", refused[i].plan, err.msg, refused[i].msg);
	}
	/* no plan: an error only where one is needed */
	struct fb_doc *d = fb_doc_new();
	struct fb_plan p;
	bool present = true;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_plan_from_doc(d, false, &p, &present, &err) == 0 && !present);
	TAP_CHECK(fb_plan_from_doc(d, true, &p, &present, &err) < 0);
	TAP_STREQ(err.msg, ".plan: missing (expected an object)");
	fb_doc_free(d);
	return 0;
}

/* A step's key: what the instruction does, not where it is written. */
static int key_text(void)
{
	struct fb_plan a, b;
	struct fb_err err = { 0 };
	TAP_CHECK(plan_of("FROM scratch\nRUN echo 1\nRUN echo 2\n", NULL, &a, &err) == 0);
	TAP_CHECK(plan_of("FROM scratch\n\n\nRUN    echo 1\n", NULL, &b, &err) == 0);
	char *k1 = fb_plan_ins_key_text(&a.stages[0].ins[0]), *k2 = fb_plan_ins_key_text(&a.stages[0].ins[1]);
	char *k3 = fb_plan_ins_key_text(&b.stages[0].ins[0]);
	TAP_CHECK(strcmp(k1, k2) != 0);
	TAP_STREQ(k1, k3);
	TAP_CHECK(strstr(k1, "\"line\"") == NULL && strstr(k1, "\"original\"") == NULL);
	/* a copy keys the same */
	struct fb_plan_ins c;
	fb_plan_ins_copy(&c, &a.stages[0].ins[0]);
	char *k4 = fb_plan_ins_key_text(&c);
	TAP_STREQ(k1, k4);
	fb_plan_ins_free(&c);
	free(k1);
	free(k2);
	free(k3);
	free(k4);
	fb_plan_free(&a);
	fb_plan_free(&b);
	return 0;
}

static const struct {
	const char *df, *target, *msg;
	int line;
} errors[] = {
	{ "RUN x\n", NULL, "RUN before the first FROM: only ARG may come before FROM (no build stage in current context)", 1 },
	{ "FROM scratch\nRUNN x\n", NULL, "unknown instruction: RUNN (did you mean RUN?)", 2 },
	{ "FROM scratch AS a\nFROM scratch AS a\n", NULL, "duplicate stage name \"a\"", 2 },
	{ "FROM scratch\nCOPY --from=0 a b\n", NULL, "COPY --from=0 refers to the current or a later build stage", 2 },
	{ "FROM scratch\nRUN --mount=type=tmpfs,size=1m,mode=0700 x\n", NULL,
	  "RUN --mount: mode not allowed for \"tmpfs\" type mounts", 2 },
	{ "FROM scratch\n", "nope", "target stage \"nope\" could not be found", 0 },
	{ "# check=error=true\nFROM scratch\nMAINTAINER me\n", NULL,
	  "lint violation (check error=true): MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label", 3 },
};

static int errors_with_lines(void)
{
	for (size_t i = 0; i < FB_ARRAY_LEN(errors); i++) {
		struct fb_plan p;
		struct fb_err err = { 0 };
		if (plan_of(errors[i].df, errors[i].target, &p, &err) == 0) {
			fb_plan_free(&p);
			return tap_fail("%zu: built", i);
		}
		if (strcmp(err.msg, errors[i].msg) || err.line != errors[i].line)
			return tap_fail("%zu: '%s' (line %d), want '%s' (line %d)", i, err.msg, err.line, errors[i].msg, errors[i].line);
	}
	return 0;
}

static const struct tap_case cases[] = {
	{ "every instruction into the plan's struct", builds_a_struct },
	{ "the plan written as fb-parse writes it reads back the same", written_and_read_back },
	{ "a plan is checked where it is read, the member named", checked_where_read },
	{ "a step's key text: what it does, not where it is", key_text },
	{ "Dockerfile errors name the line", errors_with_lines },
};

TAP_MAIN(cases)
