/* lib/vm's codecs: the VM spec, the network document, a VM's state, the
 * config drive, the MMDS, Firecracker's API bodies and the CNI documents,
 * each decoded (and checked: errors name the member) and encoded again. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni.h"
#include "doc.h"
#include "drive.h"
#include "err.h"
#include "file.h"
#include "firecracker.h"
#include "mmds.h"
#include "net.h"
#include "state.h"
#include "tree.h"
#include "util.h"
#include "spec.h"
#include "tap.h"

static struct fb_doc *parse(const char *t)
{
	struct fb_doc *d = NULL;
	struct fb_err err = { 0 };
	if (fb_vm_doc_parse(t, strlen(t), &d, &err) < 0)
		printf("# %s: %s\n", t, err.msg);
	return d;
}

static const char full_spec[] =
	"{\"vm\":{\"id\":\"v1\",\"run_dir\":\"/r/runs/v1\",\"run_cache\":\"/r\",\"kernel\":\"/k\",\"rootfs\":\"/r/runs/v1/rootfs.ext4\","
	"\"config_drive\":\"/r/runs/v1/config.drive\",\"kernel_args\":\"quiet\",\"cpu\":2,\"mem\":256,\"image\":\"a/b:1\","
	"\"daemonize\":true,\"remove_after\":false,\"stop_timeout\":7,\"vmm\":\"firecracker\",\"firecracker_binary\":\"/fc\","
	"\"cpu_template\":\"T2\",\"smt\":true,\"log_api_calls\":true,\"mmds\":{\"x\":[1]},"
	"\"jail\":{\"base\":\"/srv/jailer\",\"uid\":7,\"gid\":8,\"cgroup\":{\"cpu.weight\":\"50\",\"bad\":null},\"numa_node\":0},"
	"\"network\":{\"name\":\"n\",\"netns\":\"/var/run/netns/fb-v1\",\"tap\":\"tap0\",\"interfaces\":[{\"name\":\"eth0\","
	"\"mac\":\"aa:bb\",\"ip\":\"10.0.0.2/24\",\"gateway\":\"10.0.0.1\",\"mtu\":1400,\"ips\":[{\"address\":\"10.0.0.2/24\","
	"\"gateway\":\"10.0.0.1\"}]}],\"dns\":[\"1.1.1.1\"],\"ports\":[\"8080:80\"]},"
	"\"config\":{\"id\":\"v1\",\"hostname\":\"h\",\"env\":[\"A=1\"],\"entrypoint\":[\"/e\"],\"cmd\":[\"c\"],\"user\":\"u\","
	"\"workdir\":\"/w\",\"stop_signal\":\"SIGUSR1\",\"stop_timeout\":7,\"ssh\":{\"user\":\"s\",\"keys\":[\"ssh-ed25519 K\"]}}},"
	"\"image\":{\"name\":\"a/b\"}}";

static int check_full(const struct fb_vm_spec *s)
{
	TAP_STREQ(s->id, "v1");
	TAP_STREQ(s->kernel_args, "quiet");
	TAP_CHECK(s->cpu == 2 && s->mem == 256 && s->stop_timeout == 7 && s->daemonize && !s->remove_after);
	TAP_CHECK(s->smt && s->log_api_calls && s->mmds == FB_MMDS_GIVEN);
	TAP_STREQ(s->mmds_json, "{\"x\":[1]}");
	TAP_CHECK(s->jail && s->jail->uid == 7 && s->jail->gid == 8 && s->jail->numa_node == 0 && s->jail->ncgroup == 2);
	TAP_STREQ(s->jail->cgroup[0].file, "cpu.weight");
	TAP_STREQ(s->jail->cgroup[0].value, "50");
	TAP_CHECK(s->jail->cgroup[1].value == NULL);
	TAP_CHECK(s->network && s->network->nifs == 1 && s->network->ifs[0].mtu == 1400 && s->network->ifs[0].nips == 1);
	TAP_STREQ(s->network->ifs[0].ip, "10.0.0.2/24");
	TAP_CHECK(s->network->dns.n == 1 && s->network->ports.n == 1);
	TAP_CHECK(s->config && s->config->ssh && s->config->ssh->keys.n == 1 && s->config->stop_timeout == 7);
	TAP_STREQ(s->config->stop_signal, "SIGUSR1");
	TAP_STREQ(s->config->cmd.v[0], "c");
	return 0;
}

static int spec_round_trip(void)
{
	struct fb_doc *d = parse(full_spec);
	TAP_CHECK(d);
	struct fb_err err = { 0 };
	struct fb_vm_spec s;
	TAP_CHECK(fb_vm_spec_decode(d, &s, &err) == 0);
	TAP_CHECK(check_full(&s) == 0);
	/* encoded into another document, decoded again: the same VM; the
	 * members of others stay */
	struct fb_doc *e = parse("{\"image\":{\"name\":\"a/b\"}}");
	fb_vm_spec_encode(e, &s);
	fb_vm_spec_free(&s);
	TAP_CHECK(fb_vm_spec_decode(e, &s, &err) == 0);
	TAP_CHECK(check_full(&s) == 0);
	TAP_CHECK(fb_doc_has(e, "image"));
	fb_vm_spec_free(&s);
	fb_doc_free(e);
	fb_doc_free(d);
	/* the defaults */
	d = parse("{\"vm\":{\"id\":\"v\",\"run_dir\":\"/d\",\"run_cache\":\"/c\",\"kernel\":\"/k\",\"rootfs\":\"/r\","
		  "\"config_drive\":\"/x\",\"mmds\":true}}");
	TAP_CHECK(fb_vm_spec_decode(d, &s, &err) == 0);
	TAP_CHECK(s.cpu == 1 && s.mem == 128 && s.stop_timeout == 10 && s.mmds == FB_MMDS_VM && !s.jail && !s.network &&
		  !s.config && !s.image);
	fb_vm_spec_free(&s);
	fb_doc_free(d);
	return 0;
}

static int spec_errors_name_the_member(void)
{
	static const char ok[] = "\"id\":\"v1\",\"run_dir\":\"/d\",\"run_cache\":\"/c\",\"kernel\":\"/k\",\"rootfs\":\"/r\",\"config_drive\":\"/x\"";
	static const struct {
		const char *members, *msg;
	} bad[] = {
		{ NULL, ".vm: missing (expected an object)" },
		{ "\"id\":5", ".vm.id: expected a string, got number" },
		{ "\"id\":\"v\"", ".vm.run_dir: missing (expected a string)" },
		{ "@,\"cpu\":1e300", ".vm.cpu: expected an integer from 0 to 2147483647, got 1e+300" },
		{ "@,\"jail\":{\"base\":\"/j\",\"uid\":-1}", ".vm.jail.uid: expected an integer from 0 to 4294967294, got -1" },
		{ "@,\"jail\":{\"base\":\"/j\",\"cgroup\":{\"cpu.shares\":5}}",
		  ".vm.jail.cgroup.cpu.shares: expected a string or null, got number" },
		{ "@,\"network\":{\"netns\":\"/x\",\"interfaces\":[5]}", ".vm.network.interfaces[0]: expected an object, got number" },
		{ "@,\"network\":{\"interfaces\":[]}", ".vm.network.netns: missing (expected a string)" },
		{ "@,\"network\":{\"netns\":\"/x\",\"interfaces\":[{\"mtu\":70000}]}",
		  ".vm.network.interfaces[0].mtu: expected an integer from 0 to 65535, got 70000" },
		{ "@,\"mmds\":\"x\"", ".vm.mmds: expected an object, a boolean or null, got string" },
		{ "@,\"config\":{\"id\":\"v\",\"hostname\":\"h\",\"env\":[\"A=1\",2]}", ".vm.config.env[1]: expected a string, got number" },
		{ "@,\"config\":{\"id\":\"v\"}", ".vm.config.hostname: missing (expected a string)" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		char *t = !bad[i].members	    ? fb_xstrdup("{}")
			  : bad[i].members[0] == '@' ? fb_xasprintf("{\"vm\":{%s%s}}", ok, bad[i].members + 1)
						     : fb_xasprintf("{\"vm\":{%s}}", bad[i].members);
		struct fb_doc *d = parse(t);
		TAP_CHECK(d);
		struct fb_err err = { 0 };
		struct fb_vm_spec s;
		TAP_CHECK(fb_vm_spec_decode(d, &s, &err) == -1);
		TAP_CHECK(err.code == FB_EXIT_USAGE);
		TAP_STREQ(err.msg, bad[i].msg);
		fb_doc_free(d);
		free(t);
	}
	/* not an object at all: the document is named */
	struct fb_doc *d = NULL;
	struct fb_err err = { 0 };
	TAP_CHECK(fb_vm_doc_parse("[1]", 3, &d, &err) == -1);
	TAP_STREQ(err.msg, "the input document: expected an object, got array");
	return 0;
}

static int network_and_image(void)
{
	struct fb_doc *d = parse("{\"x\":1}");
	struct fb_err err = { 0 };
	struct fb_network *n = (struct fb_network *)1;
	TAP_CHECK(fb_network_decode(d, &n, &err) == 0 && n == NULL);
	fb_doc_free(d);
	d = parse("{\"network\":{\"name\":\"n\",\"netns\":\"/ns\",\"tap\":null,\"interfaces\":[{\"name\":\"eth0\",\"mac\":null}],"
		  "\"dns\":[]}}");
	TAP_CHECK(fb_network_decode(d, &n, &err) == 0 && n && !n->tap && n->nifs == 1 && !n->ifs[0].mac && !n->ifs[0].ip);
	struct fb_network *c = fb_network_dup(n);
	struct fb_doc *e = fb_doc_new();
	fb_network_encode(e, c);
	char *s = fb_doc_dump(e, false);
	TAP_STREQ(s, "{\"network\":{\"name\":\"n\",\"netns\":\"/ns\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":null,\"ips\":[]}],"
		     "\"tap\":null,\"dns\":[]}}");
	free(s);
	fb_network_freep(&n);
	fb_network_freep(&c);
	fb_doc_free(e);
	fb_doc_free(d);
	/* what a VM takes of fb-tag get's image */
	d = parse("{\"image\":{\"name\":\"a/b\",\"version\":\"1\",\"rootfs\":\"/s/r.ext4\",\"config\":{\"config\":{\"Env\":[\"P=/b\"],"
		  "\"Entrypoint\":null,\"Cmd\":[\"sh\"],\"User\":\"app\",\"WorkingDir\":\"/w\"}}}}");
	struct fb_vm_image img;
	TAP_CHECK(fb_vm_image_decode(d, &img, &err) == 0);
	TAP_CHECK(img.env.n == 1 && img.entrypoint.n == 0 && img.cmd.n == 1 && !img.stop_signal);
	TAP_STREQ(img.user, "app");
	fb_vm_image_free(&img);
	fb_doc_free(d);
	d = parse("{\"image\":{\"name\":\"a\",\"version\":\"1\",\"rootfs\":\"/r\",\"config\":{\"config\":{\"Cmd\":\"sh\"}}}}");
	TAP_CHECK(fb_vm_image_decode(d, &img, &err) == -1);
	TAP_STREQ(err.msg, ".image.config.config.Cmd: expected an array or null, got string");
	fb_doc_free(d);
	return 0;
}

static char *tmpdir(void)
{
	char t[] = "/tmp/test_vm_doc.XXXXXX";
	return mkdtemp(t) ? fb_xstrdup(t) : NULL;
}

static int state_as_found(void)
{
	char *dir = tmpdir();
	TAP_CHECK(dir);
	struct fb_err err = { 0 };
	struct fb_vm_state st = { .pid = 42, .supervisor_pid = 41, .has_exit_code = true, .exit_code = -3, .jail_ids = true,
				  .jail_uid = 7, .jail_gid = 8, .started = 1700000000, .daemonized = true, .cpu = 1, .mem = 128 };
	st.id = fb_xstrdup("v1");
	st.backend = fb_xstrdup("qemu");
	st.status = fb_xstrdup("exited");
	st.jail_dir = fb_xstrdup("/srv/jailer/qemu/v1");
	fb_strv_push(&st.cgroups, "/sys/fs/cgroup/firebuild/v1");
	st.network = fb_xcalloc(1, sizeof(*st.network));
	st.network->netns = fb_xstrdup("/ns");
	st.network->ifs = fb_xcalloc(1, sizeof(*st.network->ifs));
	st.network->nifs = 1;
	st.network->ifs[0].ip = fb_xstrdup("10.1.2.3/20");
	char *p = fb_xasprintf("%s/state.json", dir);
	TAP_CHECK(fb_vm_state_save(p, &st, true, &err) == 0);
	struct stat sb;
	TAP_CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	struct fb_vm_state back;
	TAP_CHECK(fb_vm_state_load(p, &back, &err) == 0);
	TAP_CHECK(back.pid == 42 && back.supervisor_pid == 41 && back.has_exit_code && back.exit_code == -3 && back.jail_ids &&
		  back.jail_gid == 8 && back.started == 1700000000 && back.daemonized && back.cgroups.n == 1);
	TAP_STREQ(back.network->ifs[0].ip, "10.1.2.3/20");
	/* the original's inspect shape, with the mask */
	struct fb_doc *d = fb_vm_state_doc(&back, "dead");
	char *s = fb_doc_dump(d, false);
	TAP_CHECK(strstr(s, "\"IPAddr\":{\"IP\":\"10.1.2.3\",\"Mask\":\"255.255.240.0\"}"));
	TAP_CHECK(strstr(s, "\"state\":\"dead\""));
	free(s);
	fb_doc_free(d);
	fb_vm_state_free(&back);
	fb_vm_state_free(&st);
	/* as found: members of another kind are named, no abort */
	static const char *const bad[][2] = {
		{ "[]", "the input document: expected an object, got array" },
		{ "{\"pid\":\"x\"}", ".pid: expected an integer or null, got string" },
		{ "{\"exit_code\":1e12}", ".exit_code: expected an integer from -2147483648 to 2147483647, got 1e+12" },
		{ "{\"network\":{\"interfaces\":5}}", ".network.interfaces: expected an array or null, got number" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		err = (struct fb_err){ 0 };
		TAP_CHECK(fb_vm_state_parse(bad[i][0], strlen(bad[i][0]), &back, &err) == -1);
		TAP_STREQ(err.msg, bad[i][1]);
		TAP_STREQ(err.kind, "invalid");
	}
	/* the jail record is a state with the jail only */
	char *cg[] = { "/sys/fs/cgroup/firebuild/v1", "/sys/fs/cgroup/cpu/firebuild/v1" };
	TAP_CHECK(fb_vm_jail_record_save(p, "/srv/jailer/qemu/v1", cg, 2, &err) == 0);
	TAP_CHECK(fb_vm_state_load(p, &back, &err) == 0 && back.cgroups.n == 2 && !back.pid);
	TAP_STREQ(back.jail_dir, "/srv/jailer/qemu/v1");
	fb_vm_state_free(&back);
	d = fb_vm_stopped_doc(NULL, false, 0);
	s = fb_doc_dump(d, false);
	TAP_STREQ(s, "{\"id\":null,\"killed\":true,\"exit_code\":null}");
	free(s);
	fb_doc_free(d);
	free(p);
	fb_tree_remove(dir);
	free(dir);
	return 0;
}

static int drive_and_mmds(void)
{
	char *dir = tmpdir();
	TAP_CHECK(dir);
	struct fb_drive_config c = { .stop_timeout = 5 };
	c.id = fb_xstrdup("v1");
	c.hostname = fb_xstrdup("h");
	fb_strv_push(&c.env, "SECRET=x");
	fb_strv_push(&c.cmd, "true");
	c.ssh = fb_xcalloc(1, sizeof(*c.ssh));
	c.ssh->user = fb_xstrdup("s");
	fb_strv_push(&c.ssh->keys, "ssh-ed25519 K");
	struct fb_network n = { .name = "n", .netns = "/ns" };
	fb_strv_push(&n.dns, "9.9.9.9");
	char *p = fb_xasprintf("%s/config.drive", dir);
	struct fb_err err = { 0 };
	TAP_CHECK(fb_drive_write(p, &c, &n, &err) == 0);
	struct stat sb;
	TAP_CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_size == 4096);
	struct fb_buf b = FB_BUF_INIT;
	TAP_CHECK(fb_read_file(p, &b, &err) == 0);
	TAP_STREQ(b.data, "{\"version\":1,\"ssh\":{\"user\":\"s\",\"keys\":[\"ssh-ed25519 K\"]},\"network\":{\"name\":\"n\",\"netns\":\"/ns\","
			  "\"interfaces\":[],\"tap\":null,\"dns\":[\"9.9.9.9\"]},\"dns\":[\"9.9.9.9\"],\"id\":\"v1\",\"hostname\":\"h\","
			  "\"env\":[\"SECRET=x\"],\"entrypoint\":[],\"cmd\":[\"true\"],\"stop_timeout\":5}");
	fb_buf_free(&b);
	/* a root disk thrown away after the VM: fb-init is told (no sync) */
	c.discard_root = true;
	TAP_CHECK(fb_drive_write(p, &c, NULL, &err) == 0);
	TAP_CHECK(fb_read_file(p, &b, &err) == 0);
	TAP_CHECK(strstr(b.data, ",\"discard_root\":true,\"stop_timeout\":5}"));
	fb_buf_free(&b);
	/* the MMDS: never the environment */
	char *m = fb_mmds_vm_json("v1", "a/b:1", "h", NULL, c.ssh);
	TAP_STREQ(m, "{\"firebuild\":{\"id\":\"v1\",\"image\":\"a/b:1\",\"hostname\":\"h\",\"network\":null,\"ssh\":{\"user\":\"s\","
		     "\"keys\":[\"ssh-ed25519 K\"]}}}");
	TAP_CHECK(!strstr(m, "SECRET"));
	free(m);
	fb_strv_free(&n.dns);
	fb_drive_config_free(&c);
	free(p);
	fb_tree_remove(dir);
	free(dir);
	return 0;
}

static int firecracker_bodies(void)
{
	char *b = fb_fc_machine_body(2, 256, true, "T2");
	TAP_STREQ(b, "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":true,\"cpu_template\":\"T2\"}");
	free(b);
	b = fb_fc_drive_body("config", "/c \"x\"", false, true);
	TAP_STREQ(b, "{\"drive_id\":\"config\",\"path_on_host\":\"/c \\\"x\\\"\",\"is_root_device\":false,\"is_read_only\":true}");
	free(b);
	b = fb_fc_mmds_config_body("eth0");
	TAP_STREQ(b, "{\"version\":\"V2\",\"network_interfaces\":[\"eth0\"]}");
	free(b);
	b = fb_fc_action_body("SendCtrlAltDel");
	TAP_STREQ(b, "{\"action_type\":\"SendCtrlAltDel\"}");
	free(b);
	const char fault[] = "{\"fault_message\":\"bad drive\"}";
	b = fb_fc_fault_message(fault, strlen(fault));
	TAP_STREQ(b, "bad drive");
	free(b);
	TAP_CHECK(fb_fc_fault_message("not json", 8) == NULL && fb_fc_fault_message("{\"x\":1}", 7) == NULL);
	return 0;
}

static int cni_configurations(void)
{
	struct fb_err err = { 0 };
	struct fb_cni_conflist l;
	const char conf[] = "{\"cniVersion\":\"0.4.0\",\"name\":\"n1\",\"type\":\"bridge\",\"bridge\":\"b0\"}";
	TAP_CHECK(fb_cni_conf_decode(conf, strlen(conf), "n1", &l, &err) == 1);
	TAP_CHECK(l.n == 1);
	TAP_STREQ(l.plugins[0].type, "bridge");
	TAP_STREQ(l.version, "0.4.0");
	struct fb_cni_result *prev = NULL;
	const char res[] = "{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"aa\",\"sandbox\":\"/ns\"}],\"routes\":[]}";
	TAP_CHECK(fb_cni_result_decode(res, strlen(res), &prev, &err) == 0 && prev);
	char *pc = fb_cni_plugin_conf(&l, 0, prev);
	TAP_STREQ(pc, "{\"cniVersion\":\"0.4.0\",\"name\":\"n1\",\"type\":\"bridge\",\"bridge\":\"b0\",\"prevResult\":{\"cniVersion\":"
		      "\"0.4.0\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"aa\",\"sandbox\":\"/ns\"}],\"routes\":[]}}");
	free(pc);
	fb_cni_result_freep(&prev);
	fb_cni_conflist_free(&l);
	/* another network, or no configuration: not this one */
	TAP_CHECK(fb_cni_conf_decode(conf, strlen(conf), "n2", &l, &err) == 0);
	TAP_CHECK(fb_cni_conf_decode("[1]", 3, "n1", &l, &err) == 0 && fb_cni_conf_decode("{\"name\":7}", 10, NULL, &l, &err) == 0);
	static const char *const bad[][2] = {
		{ "{\"name\":\"n1\",\"plugins\":[5]}", ".plugins[0]: expected an object, got number" },
		{ "{\"name\":\"n1\",\"plugins\":[]}", ".plugins: no plugins" },
		{ "{\"name\":\"n1\",\"type\":5}", ".type: expected a string, got number" },
		{ "{\"name\":\"n1\",\"plugins\":[{\"type\":\"../x\"}]}", ".plugins[0].type: \"../x\" is not a plugin's file name" },
	};
	for (size_t i = 0; i < FB_ARRAY_LEN(bad); i++) {
		err = (struct fb_err){ 0 };
		TAP_CHECK(fb_cni_conf_decode(bad[i][0], strlen(bad[i][0]), "n1", &l, &err) == -1);
		TAP_STREQ(err.msg, bad[i][1]);
	}
	/* a plugin's error object, and output that is no JSON (no result) */
	char *msg, *det;
	fb_cni_error_decode("{\"code\":7,\"msg\":\"m\",\"details\":\"d\"}", 34, &msg, &det);
	TAP_STREQ(msg, "m");
	TAP_STREQ(det, "d");
	free(msg);
	free(det);
	TAP_CHECK(fb_cni_result_decode("ok", 2, &prev, &err) == 0 && !prev);
	const char badip[] = "{\"ips\":[{\"interface\":-1}]}";
	TAP_CHECK(fb_cni_result_decode(badip, strlen(badip), &prev, &err) == -1);
	TAP_STREQ(err.msg, ".ips[0].interface: expected an integer from 0 to 2147483647, got -1");
	return 0;
}

static int mtu1400(void *ctx)
{
	(void)ctx;
	return 1400;
}

static int cni_result_to_network(void)
{
	/* dual stack: ip is the first IPv4 address, ips all of eth0's; an
	 * address of another interface is not eth0's; the tap is found */
	const char res[] = "{\"interfaces\":[{\"name\":\"br0\"},{\"name\":\"eth0\",\"mac\":\"aa\",\"sandbox\":\"/ns\"},{\"name\":\"tap0\","
			   "\"sandbox\":\"/ns\"}],\"ips\":[{\"interface\":1,\"address\":\"fd00::2/64\",\"gateway\":\"fd00::1\"},"
			   "{\"interface\":1,\"address\":\"10.0.0.2/24\",\"gateway\":\"10.0.0.1\"},{\"interface\":0,\"address\":\"10.9.9.9/24\"}],"
			   "\"dns\":{\"nameservers\":[\"10.0.0.1\"]}}";
	struct fb_err err = { 0 };
	struct fb_cni_result *r = NULL;
	TAP_CHECK(fb_cni_result_decode(res, strlen(res), &r, &err) == 0 && r);
	struct fb_network n;
	fb_cni_summarize(r, "net", "/ns", "eth0", mtu1400, NULL, &n);
	TAP_CHECK(n.nifs == 1 && n.ifs[0].mtu == 1400 && n.ifs[0].nips == 2 && n.dns.n == 1);
	TAP_STREQ(n.ifs[0].ip, "10.0.0.2/24");
	TAP_STREQ(n.ifs[0].gateway, "10.0.0.1");
	TAP_STREQ(n.tap, "tap0");
	fb_network_free(&n);
	fb_cni_result_freep(&r);
	return 0;
}

static int cni_cache_and_tap(void)
{
	char *dir = tmpdir();
	TAP_CHECK(dir);
	struct fb_err err = { 0 };
	const char list[] = "{\"name\":\"n1\",\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"bridge\"},{\"type\":\"tc-redirect-tap\"}]}";
	struct fb_cni_cache c = { .netns = "/ns", .netns_owned = false };
	TAP_CHECK(fb_cni_conf_decode(list, strlen(list), "n1", &c.list, &err) == 1);
	fb_strv_push(&c.bin_dirs, "/opt/cni/bin");
	char *p = fb_xasprintf("%s/cni.json", dir);
	TAP_CHECK(fb_cni_cache_save(p, &c, &err) == 0);
	struct fb_cni_cache back;
	TAP_CHECK(fb_cni_cache_load(p, &back, &err) == 0);
	TAP_CHECK(back.list.n == 2 && !back.netns_owned && !back.result && back.bin_dirs.n == 1);
	TAP_STREQ(back.netns, "/ns");
	fb_cni_cache_free(&back);
	fb_cni_conflist_free(&c.list);
	fb_strv_free(&c.bin_dirs);
	/* a cache that is not what add wrote names the file and the member */
	TAP_CHECK(fb_write_file_atomic(p, "{\"conflist\":5}", 14, 0600, &err) == 0);
	TAP_CHECK(fb_cni_cache_load(p, &back, &err) == -1);
	char *want = fb_xasprintf("%s: .conflist: expected an object, got number", p);
	TAP_STREQ(err.msg, want);
	free(want);
	free(p);
	fb_tree_remove(dir);
	free(dir);
	/* tc-redirect-tap: the veth's MAC from prevResult, the tap added */
	const char tc[] = "{\"cniVersion\":\"1.0.0\",\"uid\":7,\"prevResult\":{\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"aa\","
			  "\"sandbox\":\"/ns\"}],\"ips\":[]}}";
	struct fb_tap_conf t;
	TAP_CHECK(fb_cni_tap_conf_decode(tc, strlen(tc), "ADD", "eth0", &t, &err) == 0);
	TAP_CHECK(t.uid == 7 && t.gid == -1);
	TAP_STREQ(t.tap, "tap0");
	TAP_STREQ(t.mac, "aa");
	char *out = fb_cni_tap_result(&t, "/ns");
	TAP_STREQ(out, "{\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"aa\",\"sandbox\":\"/ns\"},{\"name\":\"tap0\",\"mac\":\"aa\","
		       "\"sandbox\":\"/ns\"}],\"ips\":[],\"cniVersion\":\"1.0.0\"}");
	free(out);
	fb_cni_tap_conf_free(&t);
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_cni_tap_conf_decode("{}", 2, "ADD", "eth0", &t, &err) == -1);
	TAP_STREQ(err.kind, "cni_config");
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_cni_tap_conf_decode("{\"tapName\":\"../x\"}", 18, "DEL", "eth0", &t, &err) == -1);
	TAP_STREQ(err.msg, ".tapName: \"../x\" is not an interface name (1-15 of A-Z a-z 0-9 _ . -)");
	err = (struct fb_err){ 0 };
	TAP_CHECK(fb_cni_tap_conf_decode("{}", 2, "DEL", "eth0/x", &t, &err) == -1);
	TAP_STREQ(err.kind, "cni_env");
	return 0;
}

static const struct tap_case cases[] = {
	{ "VM spec: every member decoded, encoded, decoded again; the defaults", spec_round_trip },
	{ "VM spec: a member of another kind is named, as hostile-docs.bats expects", spec_errors_name_the_member },
	{ "network document and what a VM takes of .image", network_and_image },
	{ "state.json: saved, loaded, read as found; the jail record; kill's document", state_as_found },
	{ "config drive (padded, 0600, with the network) and MMDS (no environment)", drive_and_mmds },
	{ "Firecracker's API bodies and fault_message", firecracker_bodies },
	{ "CNI configurations, plugin configs with prevResult, error objects, results", cni_configurations },
	{ "a CNI result becomes the network document (dual stack, tap, mtu)", cni_result_to_network },
	{ "fb-net's cache and tc-redirect-tap's config and result", cni_cache_and_tap },
};

TAP_MAIN(cases)
