/* firebuild kernel's documents (kernel.h). */
#include "kernel.h"

#include "doc_codec.h"
#include "json.h"

struct fb_doc *fb_kernel_added_doc(const char *id, const char *path)
{
	jv d = jv_object_set(jv_object_set(jv_object(), jv_string("id"), jv_string(id)), jv_string("path"), jv_string(path));
	return fb_doc_from_jv(jv_object_set(jv_object(), jv_string("kernel"), d));
}

struct fb_doc *fb_kernel_list_doc(const struct fb_vm_kernel *k, size_t n)
{
	jv list = jv_array();
	for (size_t i = 0; i < n; i++) {
		jv e = jv_object_set(jv_object(), jv_string("id"), jv_string(k[i].id));
		e = jv_object_set(e, jv_string("path"), jv_string(k[i].path));
		e = jv_object_set(e, jv_string("size"), jv_number((double)k[i].size));
		list = jv_array_append(list, jv_object_set(e, jv_string("default"), jv_bool(k[i].is_default)));
	}
	return fb_doc_from_jv(jv_object_set(jv_object(), jv_string("kernels"), list));
}
