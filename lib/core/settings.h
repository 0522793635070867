/* Settings: one table says what a program can be told, and drives its
 * command line, its saved profiles, its --help and its shell completion.
 * Each setting names its flag (and other spellings), the key a profile
 * keeps it under, its kind, its default, a line of help and the commands
 * that take it. The table lives with its program (firebuild's is
 * tools/firebuild-settings.c); this module parses a command line against
 * it (getopt_long underneath: unique prefixes, operands anywhere unless
 * asked otherwise), checks values by kind, and prints the flags' help.
 * A program names a setting by its index in the table (an enum), never by
 * a string: a misspelt name does not compile. */
#ifndef FB_SETTINGS_H
#define FB_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "util.h"

enum fb_setting_kind {
	FB_SETTING_STRING,  /* --flag VALUE: the last one given counts */
	FB_SETTING_LIST,    /* --flag VALUE, repeatable: all of them in order (a profile: one string, ':' between) */
	FB_SETTING_MAP,     /* --flag K=V, repeatable (a profile: an object of strings) */
	FB_SETTING_MAP_INT, /* --flag K=N, repeatable (a profile: an object of integers) */
	FB_SETTING_INT,     /* --flag N, from min to max */
	FB_SETTING_SECONDS, /* --flag N or Ns, from min to max */
	FB_SETTING_BOOL,    /* --flag, or --flag=true|false (1|0) */
	FB_SETTING_SWITCH,  /* --flag, taking no value */
	FB_SETTING_HELP,    /* --help: parsing stops, the caller prints help */
};

struct fb_setting {
	const char *flag;            /* without the dashes */
	const char *const *aliases;  /* other spellings, NULL-terminated; NULL: none */
	const char *key;             /* the key a profile keeps it under; NULL: not in profiles */
	enum fb_setting_kind kind;
	const char *arg;             /* the value's name in --help ("DIR") */
	const char *def;             /* with neither flag nor profile (shown in --help); NULL: none */
	/* what a profile holds until told otherwise (the original firebuild's
	 * profile defaults), when not def; a MAP's is "K=V" or "" (empty) */
	const char *profile_def;
	const char *(*profile_def_fn)(void); /* the same, computed (paths that depend on the user) */
	const char *help;            /* for --help, one sentence (wrapped) */
	unsigned group;              /* the --help section (struct fb_settings.groups) */
	unsigned long cmds;          /* the commands that take it: bit 1 << command */
	long long min, max;          /* INT, SECONDS */
	const char *const *oneof;    /* STRING: the values allowed, NULL-terminated */
	/* another spelling of the setting whose flag is `into`: a value given
	 * here is that setting's value, with into_prefix before it (the kind
	 * and the checks are that setting's) */
	const char *into;
	const char *into_prefix;
	/* a check of the setting's own beyond its kind: 0, or -1 with err
	 * naming --spelling (pure: profiles are checked with it too) */
	int (*check)(const char *spelling, const char *value, struct fb_err *err);
	/* what giving the flag does at once (logging settings), after check */
	void (*apply)(const char *value);
	/* an environment variable that gives the value when the command line
	 * does not (unset or empty: none); checked as the flag is, the error
	 * naming the variable (SOURCE_DATE_EPOCH) */
	const char *env;
};

struct fb_settings {
	const struct fb_setting *v;
	size_t n;
	const char *const *groups; /* --help section titles, by group */
	size_t ngroups;
};

/* What a command line said about one setting. */
struct fb_opt_value {
	unsigned n;            /* how many times it was given */
	const char *value;     /* the last value; "true"/"false" for a BOOL, NULL for a SWITCH */
	const char *spelling;  /* the spelling last used, without the dashes */
	struct fb_strv all;    /* LIST, MAP, MAP_INT: every value, in order */
};

/* One flag as given, in command-line order (for messages about them). */
struct fb_opt_seen {
	size_t id;            /* the setting (an `into` spelling's target) */
	const char *spelling; /* as given, without the dashes */
	const char *value;    /* NULL for a SWITCH */
};

struct fb_opts {
	const struct fb_settings *t;
	struct fb_opt_value *v; /* by setting */
	struct fb_opt_seen *seen;
	size_t nseen;
	char **args;            /* the operands, in order (in argv) */
	int nargs;
	bool help;              /* --help was given: nothing after it was looked at */
	struct fb_strv owned;   /* values made here (into_prefix) */
};

enum {
	FB_OPTS_IN_ORDER = 1, /* the first operand ends the flags (what follows is a command's) */
	FB_OPTS_NO_ARGS = 2,  /* an operand is a usage error */
};

/* Parse argv[1..] for command `cmd` (a bit number of the settings' cmds):
 * 0, or -1 with err (code FB_EXIT_USAGE) naming the flag at fault. argv is
 * permuted as getopt_long does. Free with fb_opts_free either way. */
int fb_opts_parse(struct fb_opts *o, const struct fb_settings *t, unsigned cmd, int argc, char **argv, unsigned flags,
		  struct fb_err *err) FB_MUST_CHECK;
void fb_opts_free(struct fb_opts *o);

/* Was the setting given on the command line (or by its env variable)? */
bool fb_opts_given(const struct fb_opts *o, size_t id);
/* Its last value, else NULL. */
const char *fb_opts_str(const struct fb_opts *o, size_t id);
/* INT and SECONDS: the value given, else the default, else 0. */
long long fb_opts_int(const struct fb_opts *o, size_t id);
/* BOOL and SWITCH: given (and not false), else the default. */
bool fb_opts_bool(const struct fb_opts *o, size_t id);
/* LIST, MAP, MAP_INT: every value given (empty when none). */
const struct fb_strv *fb_opts_list(const struct fb_opts *o, size_t id);
/* MAP: V of the last KEY=V given, else NULL. */
const char *fb_opts_map_get(const struct fb_opts *o, size_t id, const char *key);

/* V of the last "KEY=V" in list, else NULL. */
const char *fb_setting_map_lookup(const struct fb_strv *list, const char *key);
/* Check a value as the setting's kind (and its own check): 0, or -1 with
 * err naming --spelling. A BOOL's value may be NULL (the flag alone). */
int fb_setting_check(const struct fb_setting *s, const char *spelling, const char *value, struct fb_err *err) FB_MUST_CHECK;
/* "true" or "false" for a BOOL value that passed fb_setting_check. */
const char *fb_setting_bool_text(const char *value);
/* What a profile holds until told otherwise, or NULL. */
const char *fb_setting_profile_default(const struct fb_setting *s);

/* The table's own consistency: each spelling once among a command's
 * settings, an `into` names a setting that every command of its own takes,
 * defaults pass their checks. 0, or -1 naming the setting. */
int fb_settings_validate(const struct fb_settings *t, struct fb_err *err) FB_MUST_CHECK;
/* The setting a profile keeps under key, or -1. */
long fb_settings_by_key(const struct fb_settings *t, const char *key);
/* The setting spelt name[0..len) that command cmd takes, or -1. */
long fb_settings_by_flag(const struct fb_settings *t, unsigned cmd, const char *name, size_t len);
/* Does the spelling (of a setting cmd takes) want a value after it? */
bool fb_settings_takes_value(const struct fb_settings *t, size_t id);

/* The help of the flags that every command of `cmds` (bits) takes, by
 * group, each under its group's title: "  --flag ARG   help (default;
 * also --alias)", wrapped to 80 columns. */
void fb_settings_help(FILE *f, const struct fb_settings *t, unsigned long cmds);
/* Every spelling ("--flag") of the flags command cmd takes, for completion. */
void fb_settings_spellings(const struct fb_settings *t, unsigned cmd, struct fb_strv *out);

#endif
