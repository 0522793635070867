#include "profile.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "store.h"
#include "util.h"

const char *fb_profile_dir_default(void)
{
	static char buf[PATH_MAX];
	if (geteuid() == 0)
		return "/etc/firebuild/profiles";
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(buf, sizeof(buf), "%s/firebuild/profiles", xdg);
	else
		snprintf(buf, sizeof(buf), "%s/.config/firebuild/profiles", home && *home ? home : "/tmp");
	return buf;
}

jv fb_profile_defaults(void)
{
	bool root = geteuid() == 0;
	const char *rc = root ? "/var/lib/firebuild" : NULL;
	char buf[PATH_MAX];
	if (!rc) {
		const char *x = getenv("XDG_RUNTIME_DIR");
		snprintf(buf, sizeof(buf), "%s/firebuild", x && *x ? x : "/tmp");
		rc = buf;
	}
	jv p = jv_object();
	p = jv_object_set(p, jv_string("run_cache"), jv_string(rc));
	p = jv_object_set(p, jv_string("storage_provider"), jv_string("directory"));
	jv props = jv_object();
	props = jv_object_set(props, jv_string("rootfs-storage-root"), jv_string(fb_store_default()));
	p = jv_object_set(p, jv_string("storage_provider_property_string"), props);
	p = jv_object_set(p, jv_string("storage_provider_property_int64"), jv_object());
	p = jv_object_set(p, jv_string("binary_firecracker"), jv_string("/usr/bin/firecracker"));
	p = jv_object_set(p, jv_string("binary_jailer"), jv_string("/usr/bin/jailer"));
	p = jv_object_set(p, jv_string("chroot_base"), jv_string("/srv/jailer"));
	p = jv_object_set(p, jv_string("cni_bin_dir"), jv_string("/opt/cni/bin"));
	p = jv_object_set(p, jv_string("cni_conf_dir"), jv_string("/etc/cni/conf.d"));
	p = jv_object_set(p, jv_string("cni_cache_dir"), jv_string("/var/lib/cni"));
	p = jv_object_set(p, jv_string("tracing_enable"), jv_false());
	p = jv_object_set(p, jv_string("tracing_collector_host_port"), jv_string("127.0.0.1:6831"));
	p = jv_object_set(p, jv_string("tracing_log_enable"), jv_false());
	return p;
}

static int check_name(const char *name, struct fb_err *err)
{
	size_t n = strlen(name);
	if (!n || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n ||
	    name[0] == '.')
		return fb_err_set(err, FB_EXIT_USAGE, "invalid_name",
				  "invalid profile name \"%s\": letters, digits, . _ - (not starting with .)", name);
	return 0;
}

int fb_profile_load(const char *dir, const char *name, jv *out, struct fb_err *err)
{
	if (check_name(name, err) < 0)
		return -1;
	char *p = fb_xasprintf("%s/%s.json", dir ? dir : fb_profile_dir_default(), name);
	struct fb_buf b = FB_BUF_INIT;
	jv prof;
	int r = fb_read_file(p, &b, err);
	if (r < 0 && err->code == FB_EXIT_NOTFOUND)
		fb_err_set(err, FB_EXIT_NOTFOUND, "not_found", "no profile \"%s\" (%s)", name, p);
	else if (r == 0 && (r = fb_json_parse(fb_buf_str(&b), b.len, &prof, err)) < 0)
		fb_err_prefix(err, "profile %s", p);
	fb_buf_free(&b);
	free(p);
	if (r < 0)
		return -1;
	if (jv_get_kind(prof) != JV_KIND_OBJECT) {
		jv_free(prof);
		return fb_err_set(err, FB_EXIT_USAGE, "invalid", "profile %s is not a JSON object", name);
	}
	/* the profile's keys over the defaults */
	jv d = fb_profile_defaults();
	jv_object_foreach(prof, k, v) d = jv_object_set(d, k, v);
	jv_free(prof);
	d = jv_object_set(d, jv_string("name"), jv_string(name));
	*out = d;
	return 0;
}

int fb_profile_save(const char *dir, const char *name, jv profile, int overwrite, struct fb_err *err)
{
	if (check_name(name, err) < 0) {
		jv_free(profile);
		return -1;
	}
	const char *d = dir ? dir : fb_profile_dir_default();
	if (fb_mkdir_p(d, 0755, err) < 0) {
		jv_free(profile);
		return -1;
	}
	char *p = fb_xasprintf("%s/%s.json", d, name);
	if (!overwrite && access(p, F_OK) == 0) {
		fb_err_set(err, FB_EXIT_CONFLICT, "conflict", "profile \"%s\" exists (%s); --overwrite replaces it", name, p);
		free(p);
		jv_free(profile);
		return -1;
	}
	char *text = fb_json_dump(profile, true);
	int r = fb_write_file_atomic(p, text, strlen(text), 0644, err);
	free(text);
	free(p);
	return r;
}

int fb_profile_list(const char *dir, jv *out, struct fb_err *err)
{
	(void)err;
	jv names = jv_array();
	DIR *dd = opendir(dir ? dir : fb_profile_dir_default());
	struct dirent *e;
	while (dd && (e = readdir(dd))) {
		size_t n = strlen(e->d_name);
		if (n > 5 && !strcmp(e->d_name + n - 5, ".json") && e->d_name[0] != '.')
			names = jv_array_append(names, jv_string_sized(e->d_name, (int)n - 5));
	}
	if (dd)
		closedir(dd);
	*out = jv_sort(names, jv_copy(names));
	return 0;
}

char *fb_profile_store(jv profile)
{
	jv v = jv_getpath(jv_copy(profile), jv_parse("[\"storage_provider_property_string\",\"rootfs-storage-root\"]"));
	char *r = jv_get_kind(v) == JV_KIND_STRING ? fb_xstrdup(jv_string_value(v)) : fb_xstrdup(fb_store_default());
	jv_free(v);
	return r;
}
