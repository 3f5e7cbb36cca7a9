/* SPDX-License-Identifier: MIT */
/* Descriptions of open handles: socket addresses from getsockname and
 * getpeername, everything else from the /proc/self/fd link, mappings from
 * /proc/self/maps. Opens nothing that outlives the call. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdinfo.h"
#include "sys.h"

static void link_of(int fd, char *out, size_t size)
{
	char path[64];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/thread-self/fd/%d", fd); /* sys.c: why */
	len = readlink(path, out, size - 1);
	out[len > 0 ? len : 0] = '\0';
}

/* "127.0.0.1:8080", "[::1]:8080", "/run/x.sock", "@abstract"; "" if unbound */
static void address_text(const struct sockaddr_storage *addr, socklen_t len,
                         char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	out[0] = '\0';
	if (addr->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)addr;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, size, "%s:%u", host, ntohs(in->sin_port));
	} else if (addr->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)addr;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, size, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else if (addr->ss_family == AF_UNIX &&
	           len > (socklen_t)offsetof(struct sockaddr_un, sun_path)) {
		const struct sockaddr_un *un = (const void *)addr;
		size_t path_len = len - offsetof(struct sockaddr_un, sun_path);

		if (un->sun_path[0] == '\0')  /* abstract: shown as ss(8) does */
			snprintf(out, size, "@%.*s", (int)path_len - 1, un->sun_path + 1);
		else
			snprintf(out, size, "%.*s", (int)strnlen(un->sun_path, path_len),
			         un->sun_path);
	}
}

static const char *family_name(int family)
{
	switch (family) {
	case AF_INET: return "AF_INET";
	case AF_INET6: return "AF_INET6";
	case AF_UNIX: return "AF_UNIX";
	case AF_NETLINK: return "AF_NETLINK";
	default: return NULL;
	}
}

static void describe_socket(int fd, char *out, size_t size)
{
	struct sockaddr_storage local = { 0 }, peer = { 0 };
	socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
	char local_text[128], peer_text[128];
	const char *family;

	if (getsockname(fd, (struct sockaddr *)&local, &local_len) != 0 ||
	    !(family = family_name(local.ss_family))) {
		link_of(fd, out, size);
		return;
	}
	address_text(&local, local_len, local_text, sizeof(local_text));
	if (getpeername(fd, (struct sockaddr *)&peer, &peer_len) != 0)
		peer_len = 0;
	address_text(&peer, peer_len, peer_text, sizeof(peer_text));
	snprintf(out, size, "socket %s%s%s%s%s", family, local_text[0] ? " " : "",
	         local_text, peer_text[0] ? " -> " : "", peer_text);
}

void lks_describe_fd(int fd, uint16_t type, char *out, size_t size)
{
	out[0] = '\0';
	if (fd < 0 || lks_sys_fcntl(fd, F_GETFD, NULL) < 0)
		return;
	if (type == LKS_HANDLE_SOCKET)
		describe_socket(fd, out, size);
	else
		link_of(fd, out, size);
}

/* ---- mappings ------------------------------------------------------------ */

int lks_read_maps(struct lks_buf *maps)
{
	int fd = lks_sys_open_proc("maps");
	ssize_t got = 1;

	if (fd < 0)
		return -1;
	while (got > 0 && !maps->failed) {
		char chunk[4096];

		got = lks_sys_read(fd, chunk, sizeof(chunk));
		if (got > 0)
			lks_buf_append(maps, chunk, (size_t)got);
	}
	lks_sys_close(fd);
	return got < 0 || maps->failed || !lks_buf_append(maps, "", 1) ? -1 : 0;
}

/* The maps line whose range holds addr, or NULL. The kernel may merge a
 * mapping with its neighbours, so the range can be wider than ours. */
static const char *line_holding(const struct lks_buf *maps, uint64_t addr)
{
	const char *line = (const char *)maps->bytes;

	while (line && *line) {
		unsigned long long start, end;

		if (sscanf(line, "%llx-%llx", &start, &end) == 2 && start <= addr && addr < end)
			return line;
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return NULL;
}

bool lks_describe_mapping(const struct lks_buf *maps, uint64_t addr, uint64_t size,
                          char *out, size_t out_size)
{
	const char *line = maps->bytes ? line_holding(maps, addr) : NULL;
	const char *path, *end;

	out[0] = '\0';
	if (!line)
		return !maps->bytes;  /* no maps text: keep it, say nothing */
	end = strchrnul(line, '\n');
	path = line;
	for (int field = 0; field < 5 && path < end; field++) {
		path = memchr(path, ' ', (size_t)(end - path));
		if (!path)
			path = end;
		while (path < end && *path == ' ')
			path++;
	}
	snprintf(out, out_size, "%llu bytes, %.*s", (unsigned long long)size,
	         path < end ? (int)(end - path) : 9, path < end ? path : "anonymous");
	return true;
}
