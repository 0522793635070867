/* libarchive, loaded when first used (lazylib.h): with libxml2, ICU and
 * libstdc++ under it, a cached rebuild's tools spent more time mapping it
 * than they use it (not at all). Include this instead of <archive.h> and
 * <archive_entry.h>: the archive_* calls below read the same. Not
 * loadable, they fail as libarchive's own do (ARCHIVE_FATAL, NULL, 0;
 * archive_error_string says why). Only the calls listed here are there:
 * a new one is added to both files. */
#ifndef FB_ARCHIVEAPI_H
#define FB_ARCHIVEAPI_H

#include <stdbool.h>

#include <archive.h>
#include <archive_entry.h>

#include "lazylib.h"

/* Load it now (for a clear error up front); false and why when it
 * cannot be. The calls load it themselves. */
bool fb_archive_load(void);
const char *fb_archive_why(void);

/* the library's calls, each loading it first */
struct archive *fb_archive_read_new(void);
int fb_archive_read_free(struct archive *a0);
int fb_archive_read_support_filter_all(struct archive *a0);
int fb_archive_read_support_format_tar(struct archive *a0);
int fb_archive_read_support_format_gnutar(struct archive *a0);
int fb_archive_read_support_format_raw(struct archive *a0);
int fb_archive_read_open(struct archive *a0, void *a1, archive_open_callback *a2, archive_read_callback *a3, archive_close_callback *a4);
int fb_archive_read_open_fd(struct archive *a0, int a1, size_t a2);
int fb_archive_read_open_filename(struct archive *a0, const char *a1, size_t a2);
int fb_archive_read_next_header(struct archive *a0, struct archive_entry **a1);
int fb_archive_read_next_header2(struct archive *a0, struct archive_entry *a1);
la_ssize_t fb_archive_read_data(struct archive *a0, void *a1, size_t a2);
int fb_archive_read_data_block(struct archive *a0, const void **a1, size_t *a2, la_int64_t *a3);
struct archive *fb_archive_read_disk_new(void);
int fb_archive_read_disk_open(struct archive *a0, const char *a1);
int fb_archive_read_disk_descend(struct archive *a0);
int fb_archive_read_disk_set_behavior(struct archive *a0, int a1);
int fb_archive_read_disk_set_standard_lookup(struct archive *a0);
int fb_archive_read_disk_entry_from_file(struct archive *a0, struct archive_entry *a1, int a2, const struct stat *a3);
struct archive *fb_archive_write_new(void);
int fb_archive_write_free(struct archive *a0);
int fb_archive_write_set_format_pax(struct archive *a0);
int fb_archive_write_set_bytes_per_block(struct archive *a0, int a1);
int fb_archive_write_open_fd(struct archive *a0, int a1);
int fb_archive_write_open2(struct archive *a0, void *a1, archive_open_callback *a2, archive_write_callback *a3, archive_close_callback *a4, archive_free_callback *a5);
int fb_archive_write_header(struct archive *a0, struct archive_entry *a1);
la_ssize_t fb_archive_write_data(struct archive *a0, const void *a1, size_t a2);
int fb_archive_write_close(struct archive *a0);
const char *fb_archive_error_string(struct archive *a0);
void fb_archive_set_error(struct archive *a0, int a1, const char *a2, ...) __attribute__((format(printf, 3, 4)));
struct archive_entry *fb_archive_entry_new(void);
void fb_archive_entry_free(struct archive_entry *a0);
const char *fb_archive_entry_pathname(struct archive_entry *a0);
void fb_archive_entry_copy_pathname(struct archive_entry *a0, const char *a1);
const char *fb_archive_entry_sourcepath(struct archive_entry *a0);
void fb_archive_entry_copy_sourcepath(struct archive_entry *a0, const char *a1);
const char *fb_archive_entry_hardlink(struct archive_entry *a0);
const char *fb_archive_entry_symlink(struct archive_entry *a0);
mode_t fb_archive_entry_filetype(struct archive_entry *a0);
void fb_archive_entry_set_filetype(struct archive_entry *a0, unsigned int a1);
mode_t fb_archive_entry_perm(struct archive_entry *a0);
void fb_archive_entry_set_perm(struct archive_entry *a0, mode_t a1);
la_int64_t fb_archive_entry_uid(struct archive_entry *a0);
la_int64_t fb_archive_entry_gid(struct archive_entry *a0);
void fb_archive_entry_set_uname(struct archive_entry *a0, const char *a1);
void fb_archive_entry_set_gname(struct archive_entry *a0, const char *a1);
la_int64_t fb_archive_entry_size(struct archive_entry *a0);
void fb_archive_entry_set_size(struct archive_entry *a0, la_int64_t a1);
time_t fb_archive_entry_mtime(struct archive_entry *a0);
long fb_archive_entry_mtime_nsec(struct archive_entry *a0);
void fb_archive_entry_set_mtime(struct archive_entry *a0, time_t a1, long a2);
void fb_archive_entry_unset_atime(struct archive_entry *a0);
void fb_archive_entry_unset_ctime(struct archive_entry *a0);
void fb_archive_entry_unset_birthtime(struct archive_entry *a0);
dev_t fb_archive_entry_rdevmajor(struct archive_entry *a0);
dev_t fb_archive_entry_rdevminor(struct archive_entry *a0);
int fb_archive_entry_xattr_reset(struct archive_entry *a0);
int fb_archive_entry_xattr_next(struct archive_entry *a0, const char **a1, const void **a2, size_t *a3);
struct archive_entry_linkresolver *fb_archive_entry_linkresolver_new(void);
void fb_archive_entry_linkresolver_free(struct archive_entry_linkresolver *a0);
void fb_archive_entry_linkresolver_set_strategy(struct archive_entry_linkresolver *a0, int a1);
void fb_archive_entry_linkify(struct archive_entry_linkresolver *a0, struct archive_entry **a1, struct archive_entry **a2);
void fb_archive_entry_set_pathname(struct archive_entry *a0, const char *a1);
void fb_archive_entry_set_hardlink(struct archive_entry *a0, const char *a1);
void fb_archive_entry_set_symlink(struct archive_entry *a0, const char *a1);
void fb_archive_entry_set_rdev(struct archive_entry *a0, dev_t a1);
int fb_archive_entry_atime_is_set(struct archive_entry *a0);
int fb_archive_entry_ctime_is_set(struct archive_entry *a0);
int fb_archive_write_set_format_pax_restricted(struct archive *a0);
int fb_archive_write_add_filter_gzip(struct archive *a0);
int fb_archive_write_set_bytes_in_last_block(struct archive *a0, int a1);
int fb_archive_write_open_filename(struct archive *a0, const char *a1);

#ifndef FB_ARCHIVE_IMPL
#define archive_read_new fb_archive_read_new
#define archive_read_free fb_archive_read_free
#define archive_read_support_filter_all fb_archive_read_support_filter_all
#define archive_read_support_format_tar fb_archive_read_support_format_tar
#define archive_read_support_format_gnutar fb_archive_read_support_format_gnutar
#define archive_read_support_format_raw fb_archive_read_support_format_raw
#define archive_read_open fb_archive_read_open
#define archive_read_open_fd fb_archive_read_open_fd
#define archive_read_open_filename fb_archive_read_open_filename
#define archive_read_next_header fb_archive_read_next_header
#define archive_read_next_header2 fb_archive_read_next_header2
#define archive_read_data fb_archive_read_data
#define archive_read_data_block fb_archive_read_data_block
#define archive_read_disk_new fb_archive_read_disk_new
#define archive_read_disk_open fb_archive_read_disk_open
#define archive_read_disk_descend fb_archive_read_disk_descend
#define archive_read_disk_set_behavior fb_archive_read_disk_set_behavior
#define archive_read_disk_set_standard_lookup fb_archive_read_disk_set_standard_lookup
#define archive_read_disk_entry_from_file fb_archive_read_disk_entry_from_file
#define archive_write_new fb_archive_write_new
#define archive_write_free fb_archive_write_free
#define archive_write_set_format_pax fb_archive_write_set_format_pax
#define archive_write_set_bytes_per_block fb_archive_write_set_bytes_per_block
#define archive_write_open_fd fb_archive_write_open_fd
#define archive_write_open2 fb_archive_write_open2
#define archive_write_header fb_archive_write_header
#define archive_write_data fb_archive_write_data
#define archive_write_close fb_archive_write_close
#define archive_error_string fb_archive_error_string
#define archive_set_error fb_archive_set_error
#define archive_entry_new fb_archive_entry_new
#define archive_entry_free fb_archive_entry_free
#define archive_entry_pathname fb_archive_entry_pathname
#define archive_entry_copy_pathname fb_archive_entry_copy_pathname
#define archive_entry_sourcepath fb_archive_entry_sourcepath
#define archive_entry_copy_sourcepath fb_archive_entry_copy_sourcepath
#define archive_entry_hardlink fb_archive_entry_hardlink
#define archive_entry_symlink fb_archive_entry_symlink
#define archive_entry_filetype fb_archive_entry_filetype
#define archive_entry_set_filetype fb_archive_entry_set_filetype
#define archive_entry_perm fb_archive_entry_perm
#define archive_entry_set_perm fb_archive_entry_set_perm
#define archive_entry_uid fb_archive_entry_uid
#define archive_entry_gid fb_archive_entry_gid
#define archive_entry_set_uname fb_archive_entry_set_uname
#define archive_entry_set_gname fb_archive_entry_set_gname
#define archive_entry_size fb_archive_entry_size
#define archive_entry_set_size fb_archive_entry_set_size
#define archive_entry_mtime fb_archive_entry_mtime
#define archive_entry_mtime_nsec fb_archive_entry_mtime_nsec
#define archive_entry_set_mtime fb_archive_entry_set_mtime
#define archive_entry_unset_atime fb_archive_entry_unset_atime
#define archive_entry_unset_ctime fb_archive_entry_unset_ctime
#define archive_entry_unset_birthtime fb_archive_entry_unset_birthtime
#define archive_entry_rdevmajor fb_archive_entry_rdevmajor
#define archive_entry_rdevminor fb_archive_entry_rdevminor
#define archive_entry_xattr_reset fb_archive_entry_xattr_reset
#define archive_entry_xattr_next fb_archive_entry_xattr_next
#define archive_entry_linkresolver_new fb_archive_entry_linkresolver_new
#define archive_entry_linkresolver_free fb_archive_entry_linkresolver_free
#define archive_entry_linkresolver_set_strategy fb_archive_entry_linkresolver_set_strategy
#define archive_entry_linkify fb_archive_entry_linkify
#define archive_entry_set_pathname fb_archive_entry_set_pathname
#define archive_entry_set_hardlink fb_archive_entry_set_hardlink
#define archive_entry_set_symlink fb_archive_entry_set_symlink
#define archive_entry_set_rdev fb_archive_entry_set_rdev
#define archive_entry_atime_is_set fb_archive_entry_atime_is_set
#define archive_entry_ctime_is_set fb_archive_entry_ctime_is_set
#define archive_write_set_format_pax_restricted fb_archive_write_set_format_pax_restricted
#define archive_write_add_filter_gzip fb_archive_write_add_filter_gzip
#define archive_write_set_bytes_in_last_block fb_archive_write_set_bytes_in_last_block
#define archive_write_open_filename fb_archive_write_open_filename
#endif

#endif
