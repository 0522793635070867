/* The MMDS document (mmds.h). */
#include "mmds.h"

#include "drive_doc.h"
#include "json.h"
#include "net_doc.h"
#include "util.h"

char *fb_mmds_vm_json(const char *id, const char *image, const char *hostname, const struct fb_network *net,
		      const struct fb_drive_ssh *ssh)
{
	jv md = jv_object_set(jv_object(), jv_string("id"), fb_jv_str(id));
	md = jv_object_set(md, jv_string("image"), fb_jv_str(image));
	md = jv_object_set(md, jv_string("hostname"), fb_jv_str(hostname));
	md = jv_object_set(md, jv_string("network"), net ? fb_network_to_jv(net) : jv_null());
	md = jv_object_set(md, jv_string("ssh"), fb_drive_ssh_to_jv(ssh));
	return fb_json_dump(jv_object_set(jv_object(), jv_string("firebuild"), md), false);
}
