/* libarchive by dlopen, on first use (archiveapi.h, lazylib.h). */
#define FB_ARCHIVE_IMPL 1
#include "archiveapi.h"

#include <stdarg.h>
#include <stdio.h>

static struct archive *(*p_archive_read_new)(void);
static int (*p_archive_read_free)(struct archive *);
static int (*p_archive_read_support_filter_all)(struct archive *);
static int (*p_archive_read_support_format_tar)(struct archive *);
static int (*p_archive_read_support_format_gnutar)(struct archive *);
static int (*p_archive_read_support_format_raw)(struct archive *);
static int (*p_archive_read_open)(struct archive *, void *_client_data, archive_open_callback *, archive_read_callback *, archive_close_callback *);
static int (*p_archive_read_open_fd)(struct archive *, int _fd, size_t _block_size);
static int (*p_archive_read_open_filename)(struct archive *, const char *_filename, size_t _block_size);
static int (*p_archive_read_next_header)(struct archive *, struct archive_entry **);
static int (*p_archive_read_next_header2)(struct archive *, struct archive_entry *);
static la_ssize_t (*p_archive_read_data)(struct archive *, void *, size_t);
static int (*p_archive_read_data_block)(struct archive *a, const void **buff, size_t *size, la_int64_t *offset);
static struct archive *(*p_archive_read_disk_new)(void);
static int (*p_archive_read_disk_open)(struct archive *, const char *);
static int (*p_archive_read_disk_descend)(struct archive *);
static int (*p_archive_read_disk_set_behavior)(struct archive *, int flags);
static int (*p_archive_read_disk_set_standard_lookup)(struct archive *);
static int (*p_archive_read_disk_entry_from_file)(struct archive *, struct archive_entry *, int , const struct stat *);
static struct archive *(*p_archive_write_new)(void);
static int (*p_archive_write_free)(struct archive *);
static int (*p_archive_write_set_format_pax)(struct archive *);
static int (*p_archive_write_set_bytes_per_block)(struct archive *, int bytes_per_block);
static int (*p_archive_write_open_fd)(struct archive *, int _fd);
static int (*p_archive_write_open2)(struct archive *, void *, archive_open_callback *, archive_write_callback *, archive_close_callback *, archive_free_callback *);
static int (*p_archive_write_header)(struct archive *, struct archive_entry *);
static la_ssize_t (*p_archive_write_data)(struct archive *, const void *, size_t);
static int (*p_archive_write_close)(struct archive *);
static const char *(*p_archive_error_string)(struct archive *);
static void (*p_archive_set_error)(struct archive *, int _err, const char *fmt, ...);
static struct archive_entry *(*p_archive_entry_new)(void);
static void (*p_archive_entry_free)(struct archive_entry *);
static const char *(*p_archive_entry_pathname)(struct archive_entry *);
static void (*p_archive_entry_copy_pathname)(struct archive_entry *, const char *);
static const char *(*p_archive_entry_sourcepath)(struct archive_entry *);
static void (*p_archive_entry_copy_sourcepath)(struct archive_entry *, const char *);
static const char *(*p_archive_entry_hardlink)(struct archive_entry *);
static const char *(*p_archive_entry_symlink)(struct archive_entry *);
static mode_t (*p_archive_entry_filetype)(struct archive_entry *);
static void (*p_archive_entry_set_filetype)(struct archive_entry *, unsigned int);
static mode_t (*p_archive_entry_perm)(struct archive_entry *);
static void (*p_archive_entry_set_perm)(struct archive_entry *, mode_t);
static la_int64_t (*p_archive_entry_uid)(struct archive_entry *);
static la_int64_t (*p_archive_entry_gid)(struct archive_entry *);
static void (*p_archive_entry_set_uname)(struct archive_entry *, const char *);
static void (*p_archive_entry_set_gname)(struct archive_entry *, const char *);
static la_int64_t (*p_archive_entry_size)(struct archive_entry *);
static void (*p_archive_entry_set_size)(struct archive_entry *, la_int64_t);
static time_t (*p_archive_entry_mtime)(struct archive_entry *);
static long (*p_archive_entry_mtime_nsec)(struct archive_entry *);
static void (*p_archive_entry_set_mtime)(struct archive_entry *, time_t, long);
static void (*p_archive_entry_unset_atime)(struct archive_entry *);
static void (*p_archive_entry_unset_ctime)(struct archive_entry *);
static void (*p_archive_entry_unset_birthtime)(struct archive_entry *);
static dev_t (*p_archive_entry_rdevmajor)(struct archive_entry *);
static dev_t (*p_archive_entry_rdevminor)(struct archive_entry *);
static int (*p_archive_entry_xattr_reset)(struct archive_entry *);
static int (*p_archive_entry_xattr_next)(struct archive_entry *, const char ** , const void ** , size_t *);
static struct archive_entry_linkresolver *(*p_archive_entry_linkresolver_new)(void);
static void (*p_archive_entry_linkresolver_free)(struct archive_entry_linkresolver *);
static void (*p_archive_entry_linkresolver_set_strategy)(struct archive_entry_linkresolver *, int);
static void (*p_archive_entry_linkify)(struct archive_entry_linkresolver *, struct archive_entry **, struct archive_entry **);
static void (*p_archive_entry_set_pathname)(struct archive_entry *, const char *);
static void (*p_archive_entry_set_hardlink)(struct archive_entry *, const char *);
static void (*p_archive_entry_set_symlink)(struct archive_entry *, const char *);
static void (*p_archive_entry_set_rdev)(struct archive_entry *, dev_t);
static int (*p_archive_entry_atime_is_set)(struct archive_entry *);
static int (*p_archive_entry_ctime_is_set)(struct archive_entry *);
static int (*p_archive_write_set_format_pax_restricted)(struct archive *);
static int (*p_archive_write_add_filter_gzip)(struct archive *);
static int (*p_archive_write_set_bytes_in_last_block)(struct archive *, int bytes_in_last_block);
static int (*p_archive_write_open_filename)(struct archive *, const char *_file);

static const struct fb_lazysym syms[] = {
	{ "archive_read_new", &p_archive_read_new },
	{ "archive_read_free", &p_archive_read_free },
	{ "archive_read_support_filter_all", &p_archive_read_support_filter_all },
	{ "archive_read_support_format_tar", &p_archive_read_support_format_tar },
	{ "archive_read_support_format_gnutar", &p_archive_read_support_format_gnutar },
	{ "archive_read_support_format_raw", &p_archive_read_support_format_raw },
	{ "archive_read_open", &p_archive_read_open },
	{ "archive_read_open_fd", &p_archive_read_open_fd },
	{ "archive_read_open_filename", &p_archive_read_open_filename },
	{ "archive_read_next_header", &p_archive_read_next_header },
	{ "archive_read_next_header2", &p_archive_read_next_header2 },
	{ "archive_read_data", &p_archive_read_data },
	{ "archive_read_data_block", &p_archive_read_data_block },
	{ "archive_read_disk_new", &p_archive_read_disk_new },
	{ "archive_read_disk_open", &p_archive_read_disk_open },
	{ "archive_read_disk_descend", &p_archive_read_disk_descend },
	{ "archive_read_disk_set_behavior", &p_archive_read_disk_set_behavior },
	{ "archive_read_disk_set_standard_lookup", &p_archive_read_disk_set_standard_lookup },
	{ "archive_read_disk_entry_from_file", &p_archive_read_disk_entry_from_file },
	{ "archive_write_new", &p_archive_write_new },
	{ "archive_write_free", &p_archive_write_free },
	{ "archive_write_set_format_pax", &p_archive_write_set_format_pax },
	{ "archive_write_set_bytes_per_block", &p_archive_write_set_bytes_per_block },
	{ "archive_write_open_fd", &p_archive_write_open_fd },
	{ "archive_write_open2", &p_archive_write_open2 },
	{ "archive_write_header", &p_archive_write_header },
	{ "archive_write_data", &p_archive_write_data },
	{ "archive_write_close", &p_archive_write_close },
	{ "archive_error_string", &p_archive_error_string },
	{ "archive_set_error", &p_archive_set_error },
	{ "archive_entry_new", &p_archive_entry_new },
	{ "archive_entry_free", &p_archive_entry_free },
	{ "archive_entry_pathname", &p_archive_entry_pathname },
	{ "archive_entry_copy_pathname", &p_archive_entry_copy_pathname },
	{ "archive_entry_sourcepath", &p_archive_entry_sourcepath },
	{ "archive_entry_copy_sourcepath", &p_archive_entry_copy_sourcepath },
	{ "archive_entry_hardlink", &p_archive_entry_hardlink },
	{ "archive_entry_symlink", &p_archive_entry_symlink },
	{ "archive_entry_filetype", &p_archive_entry_filetype },
	{ "archive_entry_set_filetype", &p_archive_entry_set_filetype },
	{ "archive_entry_perm", &p_archive_entry_perm },
	{ "archive_entry_set_perm", &p_archive_entry_set_perm },
	{ "archive_entry_uid", &p_archive_entry_uid },
	{ "archive_entry_gid", &p_archive_entry_gid },
	{ "archive_entry_set_uname", &p_archive_entry_set_uname },
	{ "archive_entry_set_gname", &p_archive_entry_set_gname },
	{ "archive_entry_size", &p_archive_entry_size },
	{ "archive_entry_set_size", &p_archive_entry_set_size },
	{ "archive_entry_mtime", &p_archive_entry_mtime },
	{ "archive_entry_mtime_nsec", &p_archive_entry_mtime_nsec },
	{ "archive_entry_set_mtime", &p_archive_entry_set_mtime },
	{ "archive_entry_unset_atime", &p_archive_entry_unset_atime },
	{ "archive_entry_unset_ctime", &p_archive_entry_unset_ctime },
	{ "archive_entry_unset_birthtime", &p_archive_entry_unset_birthtime },
	{ "archive_entry_rdevmajor", &p_archive_entry_rdevmajor },
	{ "archive_entry_rdevminor", &p_archive_entry_rdevminor },
	{ "archive_entry_xattr_reset", &p_archive_entry_xattr_reset },
	{ "archive_entry_xattr_next", &p_archive_entry_xattr_next },
	{ "archive_entry_linkresolver_new", &p_archive_entry_linkresolver_new },
	{ "archive_entry_linkresolver_free", &p_archive_entry_linkresolver_free },
	{ "archive_entry_linkresolver_set_strategy", &p_archive_entry_linkresolver_set_strategy },
	{ "archive_entry_linkify", &p_archive_entry_linkify },
	{ "archive_entry_set_pathname", &p_archive_entry_set_pathname },
	{ "archive_entry_set_hardlink", &p_archive_entry_set_hardlink },
	{ "archive_entry_set_symlink", &p_archive_entry_set_symlink },
	{ "archive_entry_set_rdev", &p_archive_entry_set_rdev },
	{ "archive_entry_atime_is_set", &p_archive_entry_atime_is_set },
	{ "archive_entry_ctime_is_set", &p_archive_entry_ctime_is_set },
	{ "archive_write_set_format_pax_restricted", &p_archive_write_set_format_pax_restricted },
	{ "archive_write_add_filter_gzip", &p_archive_write_add_filter_gzip },
	{ "archive_write_set_bytes_in_last_block", &p_archive_write_set_bytes_in_last_block },
	{ "archive_write_open_filename", &p_archive_write_open_filename },
};
static struct fb_lazylib lib = FB_LAZYLIB_INIT("libarchive.so.13", syms);

bool fb_archive_load(void)
{
	return fb_lazylib_load(&lib);
}

const char *fb_archive_why(void)
{
	return fb_lazylib_why(&lib);
}

struct archive *fb_archive_read_new(void)
{
	return fb_archive_load() ? p_archive_read_new() : NULL;
}

int fb_archive_read_free(struct archive *a0)
{
	return fb_archive_load() ? p_archive_read_free(a0) : ARCHIVE_FATAL;
}

int fb_archive_read_support_filter_all(struct archive *a0)
{
	return fb_archive_load() ? p_archive_read_support_filter_all(a0) : ARCHIVE_FATAL;
}

int fb_archive_read_support_format_tar(struct archive *a0)
{
	return fb_archive_load() ? p_archive_read_support_format_tar(a0) : ARCHIVE_FATAL;
}

int fb_archive_read_support_format_gnutar(struct archive *a0)
{
	return fb_archive_load() ? p_archive_read_support_format_gnutar(a0) : ARCHIVE_FATAL;
}

int fb_archive_read_support_format_raw(struct archive *a0)
{
	return fb_archive_load() ? p_archive_read_support_format_raw(a0) : ARCHIVE_FATAL;
}

int fb_archive_read_open(struct archive *a0, void *a1, archive_open_callback *a2, archive_read_callback *a3, archive_close_callback *a4)
{
	return fb_archive_load() ? p_archive_read_open(a0, a1, a2, a3, a4) : ARCHIVE_FATAL;
}

int fb_archive_read_open_fd(struct archive *a0, int a1, size_t a2)
{
	return fb_archive_load() ? p_archive_read_open_fd(a0, a1, a2) : ARCHIVE_FATAL;
}

int fb_archive_read_open_filename(struct archive *a0, const char *a1, size_t a2)
{
	return fb_archive_load() ? p_archive_read_open_filename(a0, a1, a2) : ARCHIVE_FATAL;
}

int fb_archive_read_next_header(struct archive *a0, struct archive_entry **a1)
{
	return fb_archive_load() ? p_archive_read_next_header(a0, a1) : ARCHIVE_FATAL;
}

int fb_archive_read_next_header2(struct archive *a0, struct archive_entry *a1)
{
	return fb_archive_load() ? p_archive_read_next_header2(a0, a1) : ARCHIVE_FATAL;
}

la_ssize_t fb_archive_read_data(struct archive *a0, void *a1, size_t a2)
{
	return fb_archive_load() ? p_archive_read_data(a0, a1, a2) : ARCHIVE_FATAL;
}

int fb_archive_read_data_block(struct archive *a0, const void **a1, size_t *a2, la_int64_t *a3)
{
	return fb_archive_load() ? p_archive_read_data_block(a0, a1, a2, a3) : ARCHIVE_FATAL;
}

struct archive *fb_archive_read_disk_new(void)
{
	return fb_archive_load() ? p_archive_read_disk_new() : NULL;
}

int fb_archive_read_disk_open(struct archive *a0, const char *a1)
{
	return fb_archive_load() ? p_archive_read_disk_open(a0, a1) : ARCHIVE_FATAL;
}

int fb_archive_read_disk_descend(struct archive *a0)
{
	return fb_archive_load() ? p_archive_read_disk_descend(a0) : ARCHIVE_FATAL;
}

int fb_archive_read_disk_set_behavior(struct archive *a0, int a1)
{
	return fb_archive_load() ? p_archive_read_disk_set_behavior(a0, a1) : ARCHIVE_FATAL;
}

int fb_archive_read_disk_set_standard_lookup(struct archive *a0)
{
	return fb_archive_load() ? p_archive_read_disk_set_standard_lookup(a0) : ARCHIVE_FATAL;
}

int fb_archive_read_disk_entry_from_file(struct archive *a0, struct archive_entry *a1, int a2, const struct stat *a3)
{
	return fb_archive_load() ? p_archive_read_disk_entry_from_file(a0, a1, a2, a3) : ARCHIVE_FATAL;
}

struct archive *fb_archive_write_new(void)
{
	return fb_archive_load() ? p_archive_write_new() : NULL;
}

int fb_archive_write_free(struct archive *a0)
{
	return fb_archive_load() ? p_archive_write_free(a0) : ARCHIVE_FATAL;
}

int fb_archive_write_set_format_pax(struct archive *a0)
{
	return fb_archive_load() ? p_archive_write_set_format_pax(a0) : ARCHIVE_FATAL;
}

int fb_archive_write_set_bytes_per_block(struct archive *a0, int a1)
{
	return fb_archive_load() ? p_archive_write_set_bytes_per_block(a0, a1) : ARCHIVE_FATAL;
}

int fb_archive_write_open_fd(struct archive *a0, int a1)
{
	return fb_archive_load() ? p_archive_write_open_fd(a0, a1) : ARCHIVE_FATAL;
}

int fb_archive_write_open2(struct archive *a0, void *a1, archive_open_callback *a2, archive_write_callback *a3, archive_close_callback *a4, archive_free_callback *a5)
{
	return fb_archive_load() ? p_archive_write_open2(a0, a1, a2, a3, a4, a5) : ARCHIVE_FATAL;
}

int fb_archive_write_header(struct archive *a0, struct archive_entry *a1)
{
	return fb_archive_load() ? p_archive_write_header(a0, a1) : ARCHIVE_FATAL;
}

la_ssize_t fb_archive_write_data(struct archive *a0, const void *a1, size_t a2)
{
	return fb_archive_load() ? p_archive_write_data(a0, a1, a2) : ARCHIVE_FATAL;
}

int fb_archive_write_close(struct archive *a0)
{
	return fb_archive_load() ? p_archive_write_close(a0) : ARCHIVE_FATAL;
}

const char *fb_archive_error_string(struct archive *a0)
{
	return fb_archive_load() ? p_archive_error_string(a0) : "libarchive (libarchive.so.13) could not be loaded";
}

void fb_archive_set_error(struct archive *a0, int a1, const char *a2, ...)
{
	if (!fb_archive_load())
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, a2);
	vsnprintf(msg, sizeof(msg), a2, ap);
	va_end(ap);
	p_archive_set_error(a0, a1, "%s", msg);
}

struct archive_entry *fb_archive_entry_new(void)
{
	return fb_archive_load() ? p_archive_entry_new() : NULL;
}

void fb_archive_entry_free(struct archive_entry *a0)
{
	if (fb_archive_load())
		p_archive_entry_free(a0);
}

const char *fb_archive_entry_pathname(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_pathname(a0) : NULL;
}

void fb_archive_entry_copy_pathname(struct archive_entry *a0, const char *a1)
{
	if (fb_archive_load())
		p_archive_entry_copy_pathname(a0, a1);
}

const char *fb_archive_entry_sourcepath(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_sourcepath(a0) : NULL;
}

void fb_archive_entry_copy_sourcepath(struct archive_entry *a0, const char *a1)
{
	if (fb_archive_load())
		p_archive_entry_copy_sourcepath(a0, a1);
}

const char *fb_archive_entry_hardlink(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_hardlink(a0) : NULL;
}

const char *fb_archive_entry_symlink(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_symlink(a0) : NULL;
}

mode_t fb_archive_entry_filetype(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_filetype(a0) : 0;
}

void fb_archive_entry_set_filetype(struct archive_entry *a0, unsigned int a1)
{
	if (fb_archive_load())
		p_archive_entry_set_filetype(a0, a1);
}

mode_t fb_archive_entry_perm(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_perm(a0) : 0;
}

void fb_archive_entry_set_perm(struct archive_entry *a0, mode_t a1)
{
	if (fb_archive_load())
		p_archive_entry_set_perm(a0, a1);
}

la_int64_t fb_archive_entry_uid(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_uid(a0) : 0;
}

la_int64_t fb_archive_entry_gid(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_gid(a0) : 0;
}

void fb_archive_entry_set_uname(struct archive_entry *a0, const char *a1)
{
	if (fb_archive_load())
		p_archive_entry_set_uname(a0, a1);
}

void fb_archive_entry_set_gname(struct archive_entry *a0, const char *a1)
{
	if (fb_archive_load())
		p_archive_entry_set_gname(a0, a1);
}

la_int64_t fb_archive_entry_size(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_size(a0) : 0;
}

void fb_archive_entry_set_size(struct archive_entry *a0, la_int64_t a1)
{
	if (fb_archive_load())
		p_archive_entry_set_size(a0, a1);
}

time_t fb_archive_entry_mtime(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_mtime(a0) : 0;
}

long fb_archive_entry_mtime_nsec(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_mtime_nsec(a0) : 0;
}

void fb_archive_entry_set_mtime(struct archive_entry *a0, time_t a1, long a2)
{
	if (fb_archive_load())
		p_archive_entry_set_mtime(a0, a1, a2);
}

void fb_archive_entry_unset_atime(struct archive_entry *a0)
{
	if (fb_archive_load())
		p_archive_entry_unset_atime(a0);
}

void fb_archive_entry_unset_ctime(struct archive_entry *a0)
{
	if (fb_archive_load())
		p_archive_entry_unset_ctime(a0);
}

void fb_archive_entry_unset_birthtime(struct archive_entry *a0)
{
	if (fb_archive_load())
		p_archive_entry_unset_birthtime(a0);
}

dev_t fb_archive_entry_rdevmajor(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_rdevmajor(a0) : 0;
}

dev_t fb_archive_entry_rdevminor(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_rdevminor(a0) : 0;
}

int fb_archive_entry_xattr_reset(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_xattr_reset(a0) : ARCHIVE_FATAL;
}

int fb_archive_entry_xattr_next(struct archive_entry *a0, const char **a1, const void **a2, size_t *a3)
{
	return fb_archive_load() ? p_archive_entry_xattr_next(a0, a1, a2, a3) : ARCHIVE_FATAL;
}

struct archive_entry_linkresolver *fb_archive_entry_linkresolver_new(void)
{
	return fb_archive_load() ? p_archive_entry_linkresolver_new() : NULL;
}

void fb_archive_entry_linkresolver_free(struct archive_entry_linkresolver *a0)
{
	if (fb_archive_load())
		p_archive_entry_linkresolver_free(a0);
}

void fb_archive_entry_linkresolver_set_strategy(struct archive_entry_linkresolver *a0, int a1)
{
	if (fb_archive_load())
		p_archive_entry_linkresolver_set_strategy(a0, a1);
}

void fb_archive_entry_linkify(struct archive_entry_linkresolver *a0, struct archive_entry **a1, struct archive_entry **a2)
{
	if (fb_archive_load())
		p_archive_entry_linkify(a0, a1, a2);
}

void fb_archive_entry_set_pathname(struct archive_entry *a0, const char *a1)
{
	if (fb_archive_load())
		p_archive_entry_set_pathname(a0, a1);
}

void fb_archive_entry_set_hardlink(struct archive_entry *a0, const char *a1)
{
	if (fb_archive_load())
		p_archive_entry_set_hardlink(a0, a1);
}

void fb_archive_entry_set_symlink(struct archive_entry *a0, const char *a1)
{
	if (fb_archive_load())
		p_archive_entry_set_symlink(a0, a1);
}

void fb_archive_entry_set_rdev(struct archive_entry *a0, dev_t a1)
{
	if (fb_archive_load())
		p_archive_entry_set_rdev(a0, a1);
}

int fb_archive_entry_atime_is_set(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_atime_is_set(a0) : 0;
}

int fb_archive_entry_ctime_is_set(struct archive_entry *a0)
{
	return fb_archive_load() ? p_archive_entry_ctime_is_set(a0) : 0;
}

int fb_archive_write_set_format_pax_restricted(struct archive *a0)
{
	return fb_archive_load() ? p_archive_write_set_format_pax_restricted(a0) : ARCHIVE_FATAL;
}

int fb_archive_write_add_filter_gzip(struct archive *a0)
{
	return fb_archive_load() ? p_archive_write_add_filter_gzip(a0) : ARCHIVE_FATAL;
}

int fb_archive_write_set_bytes_in_last_block(struct archive *a0, int a1)
{
	return fb_archive_load() ? p_archive_write_set_bytes_in_last_block(a0, a1) : ARCHIVE_FATAL;
}

int fb_archive_write_open_filename(struct archive *a0, const char *a1)
{
	return fb_archive_load() ? p_archive_write_open_filename(a0, a1) : ARCHIVE_FATAL;
}
