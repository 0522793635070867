#include "firecracker.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "log.h"
#include "trace.h"
#include "util.h"

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
	fb_buf_add(ctx, p, size * n);
	return size * n;
}

int fb_fc_put(const char *sock, const char *path, jv body, bool log, struct fb_err *err)
{
	CURL *c = curl_easy_init();
	char *url = fb_xasprintf("http://localhost%s", path);
	char *text = fb_json_dump(body, false);
	struct fb_buf resp = FB_BUF_INIT;
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json");
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	struct fb_span *span = fb_span_begin("firecracker PUT");
	fb_span_set(span, "http.route", path);
	CURLcode cr = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	fb_span_set_int(span, "http.status_code", status);
	if (log) {
		char st[16];
		snprintf(st, sizeof(st), "%ld", status);
		fb_log_fields(FB_LOG_INFO, "firecracker API call", "method", "PUT", "path", path, "body", text, "status", st,
			      "response", fb_buf_str(&resp), (const char *)NULL);
	}
	int ret = 0;
	if (cr != CURLE_OK) {
		ret = fb_err_set(err, FB_EXIT_FAILED, "firecracker", "firecracker API %s: PUT %s: %s", sock, path,
				 ebuf[0] ? ebuf : curl_easy_strerror(cr));
	} else if (status < 200 || status > 299) {
		/* the API's error body: {"fault_message": "..."} */
		jv doc;
		struct fb_err pe = { 0 };
		const char *why = fb_buf_str(&resp);
		char *owned = NULL;
		if (resp.len && fb_json_parse(fb_buf_str(&resp), resp.len, &doc, &pe) == 0) {
			jv m = jv_object_get(doc, jv_string("fault_message"));
			if (jv_get_kind(m) == JV_KIND_STRING)
				why = owned = fb_xstrdup(jv_string_value(m));
			jv_free(m);
		}
		ret = fb_err_set(err, FB_EXIT_FAILED, "firecracker", "firecracker API: PUT %s: HTTP %ld: %s", path, status, why);
		free(owned);
	}
	if (ret < 0)
		fb_span_error(span, err->msg);
	fb_span_end(span);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	fb_buf_free(&resp);
	free(text);
	free(url);
	return ret;
}

int fb_fc_configure(const struct fb_fc_config *c, struct fb_err *err)
{
	struct {
		const char *path;
		jv body;
	} calls[10];
	int n = 0;
	calls[n].path = "/logger";
	calls[n++].body = jv_object_set(jv_object_set(jv_object(), jv_string("log_path"), jv_string(c->log_path)),
					jv_string("level"), jv_string("Info"));
	calls[n].path = "/metrics";
	calls[n++].body = jv_object_set(jv_object(), jv_string("metrics_path"), jv_string(c->metrics_path));
	jv mc = jv_object_set(jv_object_set(jv_object(), jv_string("vcpu_count"), jv_number(c->cpu)), jv_string("mem_size_mib"),
			      jv_number(c->mem));
	if (c->smt)
		mc = jv_object_set(mc, jv_string("smt"), jv_true());
	if (c->cpu_template)
		mc = jv_object_set(mc, jv_string("cpu_template"), jv_string(c->cpu_template));
	calls[n].path = "/machine-config";
	calls[n++].body = mc;
	calls[n].path = "/boot-source";
	calls[n++].body = jv_object_set(jv_object_set(jv_object(), jv_string("kernel_image_path"), jv_string(c->kernel)),
					jv_string("boot_args"), jv_string(c->boot_args));
	jv root = jv_object_set(jv_object(), jv_string("drive_id"), jv_string("rootfs"));
	root = jv_object_set(root, jv_string("path_on_host"), jv_string(c->rootfs));
	root = jv_object_set(root, jv_string("is_root_device"), jv_true());
	calls[n].path = "/drives/rootfs";
	calls[n++].body = jv_object_set(root, jv_string("is_read_only"), jv_false());
	jv cfg = jv_object_set(jv_object(), jv_string("drive_id"), jv_string("config"));
	cfg = jv_object_set(cfg, jv_string("path_on_host"), jv_string(c->config_drive));
	cfg = jv_object_set(cfg, jv_string("is_root_device"), jv_false());
	calls[n].path = "/drives/config";
	calls[n++].body = jv_object_set(cfg, jv_string("is_read_only"), jv_true());
	if (c->tap && c->mac) {
		jv ni = jv_object_set(jv_object(), jv_string("iface_id"), jv_string("eth0"));
		ni = jv_object_set(ni, jv_string("host_dev_name"), jv_string(c->tap));
		calls[n].path = "/network-interfaces/eth0";
		calls[n++].body = jv_object_set(ni, jv_string("guest_mac"), jv_string(c->mac));
		/* the metadata, for guest software that reads MMDS (V2: session tokens) */
		if (jv_is_valid(c->mmds) && jv_get_kind(c->mmds) == JV_KIND_OBJECT) {
			jv mc2 = jv_object_set(jv_object(), jv_string("version"), jv_string("V2"));
			calls[n].path = "/mmds/config";
			calls[n++].body = jv_object_set(mc2, jv_string("network_interfaces"), jv_array_append(jv_array(), jv_string("eth0")));
			calls[n].path = "/mmds";
			calls[n++].body = jv_copy(c->mmds);
		}
	}
	calls[n].path = "/actions";
	calls[n++].body = jv_object_set(jv_object(), jv_string("action_type"), jv_string("InstanceStart"));
	int ret = 0;
	for (int i = 0; i < n; i++) {
		if (ret == 0)
			ret = fb_fc_put(c->sock, calls[i].path, calls[i].body, c->log_calls, err);
		else
			jv_free(calls[i].body);
	}
	return ret;
}

int fb_fc_ctrl_alt_del(const char *sock, struct fb_err *err)
{
	return fb_fc_put(sock, "/actions", jv_object_set(jv_object(), jv_string("action_type"), jv_string("SendCtrlAltDel")),
			 false, err);
}
