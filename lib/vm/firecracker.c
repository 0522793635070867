#include "firecracker.h"

#include <stdio.h>
#include <string.h>

#include "curlapi.h"
#include "err.h"
#include "firecracker.h"
#include "log.h"
#include "trace.h"
#include "util.h"

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
	fb_buf_add(ctx, p, size * n);
	return size * n;
}

int fb_fc_put(const char *sock, const char *path, const char *text, bool log, struct fb_err *err)
{
	CURL *c = curl_easy_init();
	char *url = fb_xasprintf("http://localhost%s", path);
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
		char *owned = fb_fc_fault_message(fb_buf_str(&resp), resp.len);
		ret = fb_err_set(err, FB_EXIT_FAILED, "firecracker", "firecracker API: PUT %s: HTTP %ld: %s", path, status,
				 owned ? owned : fb_buf_str(&resp));
		free(owned);
	}
	if (ret < 0)
		fb_span_error(span, err->msg);
	fb_span_end(span);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	fb_buf_free(&resp);
	free(url);
	return ret;
}

int fb_fc_configure(const struct fb_fc_config *c, struct fb_err *err)
{
	struct {
		const char *path;
		char *body;
	} calls[10];
	int n = 0;
	calls[n].path = "/logger";
	calls[n++].body = fb_fc_logger_body(c->log_path);
	calls[n].path = "/metrics";
	calls[n++].body = fb_fc_metrics_body(c->metrics_path);
	calls[n].path = "/machine-config";
	calls[n++].body = fb_fc_machine_body(c->cpu, c->mem, c->smt, c->cpu_template);
	calls[n].path = "/boot-source";
	calls[n++].body = fb_fc_boot_body(c->kernel, NULL, c->boot_args);
	calls[n].path = "/drives/rootfs";
	calls[n++].body = fb_fc_drive_body("rootfs", c->rootfs, true, false);
	calls[n].path = "/drives/config";
	calls[n++].body = fb_fc_drive_body("config", c->config_drive, false, true);
	if (c->tap && c->mac) {
		calls[n].path = "/network-interfaces/eth0";
		calls[n++].body = fb_fc_iface_body("eth0", c->tap, c->mac);
		/* the metadata, for guest software that reads MMDS (V2: session tokens) */
		if (c->mmds_json) {
			calls[n].path = "/mmds/config";
			calls[n++].body = fb_fc_mmds_config_body("eth0");
			calls[n].path = "/mmds";
			calls[n++].body = fb_xstrdup(c->mmds_json);
		}
	}
	calls[n].path = "/actions";
	calls[n++].body = fb_fc_action_body("InstanceStart");
	int ret = 0;
	for (int i = 0; i < n; i++) {
		if (ret == 0)
			ret = fb_fc_put(c->sock, calls[i].path, calls[i].body, c->log_calls, err);
		free(calls[i].body);
	}
	return ret;
}

int fb_fc_ctrl_alt_del(const char *sock, struct fb_err *err)
{
	char *body = fb_fc_action_body("SendCtrlAltDel");
	int r = fb_fc_put(sock, "/actions", body, false, err);
	free(body);
	return r;
}
