/* fb-init: lo, and the interfaces of the config drive's network (an IPv4
 * address and default route, every IPv6 address, the MTU). */
#include "fb-init.h"

/* The socket for the interface ioctls, made once and kept: closing one
 * was ~1 ms of a TCG guest before its workload. */
static int inet_sock(void)
{
	static int s = -1;
	if (s < 0)
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return s;
}

void lo_up(void)
{
	int s = inet_sock();
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "lo");
	if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
}

static int set_addr(int s, const char *dev, unsigned long req, in_addr_t a)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = a;
	return ioctl(s, req, &ifr);
}

/* The kernel's struct in6_ifreq (linux/ipv6.h), which libc does not have. */
struct fb_in6_ifreq {
	struct in6_addr addr;
	uint32_t prefixlen;
	int ifindex;
};

/* An IPv6 address ("fd00::5/64") on the interface, usable at once (no
 * duplicate address detection: the address is CNI's to give), and a
 * default route through gw. */
static void add_ipv6(const char *name, const char *cidr, const char *gw)
{
	char addr[80], p[128];
	snprintf(addr, sizeof(addr), "%s", cidr);
	int prefix = 128;
	char *slash = strchr(addr, '/');
	if (slash) {
		*slash = '\0';
		prefix = atoi(slash + 1);
	}
	struct fb_in6_ifreq r = { .prefixlen = (uint32_t)prefix, .ifindex = (int)if_nametoindex(name) };
	if (inet_pton(AF_INET6, addr, &r.addr) != 1) {
		say("fb-init: warning: %s: %s is not an IPv6 address", name, cidr);
		return;
	}
	snprintf(p, sizeof(p), "/proc/sys/net/ipv6/conf/%s/accept_dad", name);
	write_file(p, "0\n", 0644);
	int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		say("fb-init: warning: %s: no IPv6 here (%s)", name, strerror(errno));
		return;
	}
	if (ioctl(s, SIOCSIFADDR, &r) < 0 && errno != EEXIST)
		say("fb-init: warning: %s: address %s: %s", name, cidr, strerror(errno));
	struct in6_addr g;
	if (gw && inet_pton(AF_INET6, gw, &g) == 1) {
		struct in6_rtmsg rt = { 0 };
		rt.rtmsg_gateway = g;
		rt.rtmsg_metric = 1;
		rt.rtmsg_flags = RTF_UP | RTF_GATEWAY;
		rt.rtmsg_ifindex = r.ifindex;
		if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
			say("fb-init: warning: IPv6 default route via %s: %s", gw, strerror(errno));
	}
	close(s);
}

/* An interface from the CNI result: "ip": "10.88.0.2/24", "gateway",
 * "mtu", and every address in "ips" (IPv6 ones too); the MAC is the NIC's
 * already (the VMM sets it). Up first, then the addresses and routes. */
void configure_if(const struct jval *it)
{
	const char *name = jstr(it, "name"), *ip = jstr(it, "ip"), *gw = jstr(it, "gateway");
	if (!name || !ip)
		return;
	int s = inet_sock();
	if (s < 0)
		return;
	const struct jval *mtu = jget(it, "mtu");
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (mtu && mtu->t == J_NUM) {
		ifr.ifr_mtu = (int)mtu->num;
		ioctl(s, SIOCSIFMTU, &ifr);
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	/* IPv4: ip and gateway */
	char addr[64];
	snprintf(addr, sizeof(addr), "%s", ip);
	int prefix = 32;
	char *slash = strchr(addr, '/');
	if (slash) {
		*slash = '\0';
		prefix = atoi(slash + 1);
	}
	struct in_addr a, g;
	if (inet_pton(AF_INET, addr, &a) == 1) {
		in_addr_t mask = prefix <= 0 ? 0 : htonl(0xffffffffu << (32 - (prefix > 32 ? 32 : prefix)));
		if (set_addr(s, name, SIOCSIFADDR, a.s_addr) < 0 || set_addr(s, name, SIOCSIFNETMASK, mask) < 0)
			say("fb-init: warning: %s: address %s: %s", name, ip, strerror(errno));
		if (gw && inet_pton(AF_INET, gw, &g) == 1) {
			struct rtentry rt = { 0 };
			struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst, *gwa = (struct sockaddr_in *)&rt.rt_gateway,
					   *msk = (struct sockaddr_in *)&rt.rt_genmask;
			dst->sin_family = gwa->sin_family = msk->sin_family = AF_INET;
			gwa->sin_addr = g;
			rt.rt_flags = RTF_UP | RTF_GATEWAY;
			rt.rt_dev = (char *)name;
			if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
				say("fb-init: warning: default route via %s: %s", gw, strerror(errno));
		}
	} else if (!strchr(ip, ':')) {
		say("fb-init: warning: %s: %s is not an IP address", name, ip);
	}
	/* IPv6: every such address in ips (ip itself when there is no ips) */
	const struct jval *ips = jget(it, "ips");
	if (!ips || ips->t != J_ARR) {
		if (strchr(ip, ':'))
			add_ipv6(name, ip, gw);
		return;
	}
	for (size_t i = 0; i < ips->n; i++) {
		const char *a6 = jstr(&ips->v[i], "address");
		if (a6 && strchr(a6, ':'))
			add_ipv6(name, a6, jstr(&ips->v[i], "gateway"));
	}
}
