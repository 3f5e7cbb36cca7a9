/* SPDX-License-Identifier: MIT */
/* Object files opened once per report (images.h). A process tree of a
 * build runs the same libc and compilers hundreds of times: each file's
 * debug information is read once. */
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addrmemo.h"
#include "array.h"
#include "images.h"
#include "pool.h"

struct image {
	char *path;
	uint32_t build_id_len;
	uint8_t build_id[LKS_BUILD_ID_MAX];
	enum image_problem problem;
	int error;
	char *detail;                  /* libdwfl's message when not found */
	char *debuginfo_path;          /* libdwfl's, per Dwfl */
	Dwfl_Callbacks callbacks;
	Dwfl *dwfl;
	Dwfl_Module *module;
	struct symindex *symbols;      /* built at the first symbol lookup */
	struct addr_memo memo;         /* by link-time address */
};

static struct image **images;
static size_t image_count, image_capacity;
static struct pool *names;

static bool is_regular(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* The build-id is checked before libdwfl sees the file: a rebuilt library
 * at the same path would otherwise give confident, wrong names. */
static enum image_problem check_file(const char *path, const struct lks_module *record,
				     int *error)
{
	const void *id = NULL;
	ssize_t id_len;
	enum image_problem verdict;
	Elf *elf;
	int fd;

	/* non-blocking, then regular files only: a snapshot naming a FIFO
	 * or a device must not hang the report */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		*error = errno;
		return IMAGE_UNREADABLE;
	}
	if (!is_regular(fd)) {
		close(fd);
		*error = EINVAL;
		return IMAGE_UNREADABLE;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		*error = ENOEXEC;
		verdict = IMAGE_UNREADABLE;
	} else {
		id_len = dwelf_elf_gnu_build_id(elf, &id);
		verdict = record->build_id_len == 0 ||
				  (id_len == (ssize_t)record->build_id_len &&
				   memcmp(id, record->build_id, (size_t)id_len) == 0)
			  ? IMAGE_USABLE : IMAGE_OTHER_BUILD;
	}
	elf_end(elf);
	close(fd);
	return verdict;
}

/* The file at the path is gone or another build: the recorded build-id may
 * still find the object (.build-id links, debuginfod when configured). */
static Dwfl_Module *report_by_build_id(struct image *image, const struct lks_module *record)
{
	Dwfl_Module *mod;
	GElf_Addr bias;

	if (record->build_id_len == 0)
		return NULL;
	mod = dwfl_report_module(image->dwfl, image->path, record->start - record->bias,
				 record->end - record->bias);
	if (!mod || dwfl_module_report_build_id(mod, record->build_id,
						record->build_id_len, 0) != 0)
		return NULL;
	if (!dwfl_module_getelf(mod, &bias) || bias != 0)
		return NULL;
	return mod;
}

/* At bias 0 (add_p_vaddr: the segments at their own addresses), as the
 * lookups in image space expect. */
static void open_image(struct image *image, const struct lks_module *record)
{
	enum image_problem check;

	elf_version(EV_CURRENT);  /* before libelf's first use */
	check = check_file(image->path, record, &image->error);
	image->callbacks.find_elf = dwfl_build_id_find_elf;
	image->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
	image->callbacks.debuginfo_path = &image->debuginfo_path;
	image->dwfl = dwfl_begin(&image->callbacks);
	if (image->dwfl) {
		dwfl_report_begin(image->dwfl);
		image->module = check == IMAGE_USABLE
			? dwfl_report_elf(image->dwfl, image->path, image->path, -1, 0, true)
			: report_by_build_id(image, record);
		dwfl_report_end(image->dwfl, NULL, NULL);
	}
	if (image->module)
		image->problem = IMAGE_USABLE;
	else if (check != IMAGE_USABLE)
		image->problem = check;
	else
		image->problem = IMAGE_NOT_FOUND;
	if (image->problem == IMAGE_NOT_FOUND)
		image->detail = strdup(dwfl_errmsg(-1));
}

static struct image *find(const char *path, const struct lks_module *record)
{
	for (size_t i = 0; i < image_count; i++)
		if (images[i]->build_id_len == record->build_id_len &&
		    memcmp(images[i]->build_id, record->build_id, record->build_id_len) == 0 &&
		    strcmp(images[i]->path, path) == 0)
			return images[i];
	return NULL;
}

struct image *image_get(const char *path, const struct lks_module *record)
{
	struct image *image = find(path, record);

	if (image)
		return image;
	if (ARRAY_RESERVE(images, image_capacity, image_count, 1) < 0 ||
	    !(image = calloc(1, sizeof(*image))) || !(image->path = strdup(path))) {
		free(image);
		return NULL;
	}
	image->build_id_len = record->build_id_len;
	memcpy(image->build_id, record->build_id, record->build_id_len);
	open_image(image, record);
	images[image_count++] = image;
	return image;
}

enum image_problem image_problem(const struct image *image, int *error, const char **detail)
{
	*error = image->error;
	*detail = image->detail ? image->detail : "cannot be opened";
	return image->problem;
}

Dwfl_Module *image_module(const struct image *image)
{
	return image->problem == IMAGE_USABLE ? image->module : NULL;
}

int image_symbol(struct image *image, uint64_t vaddr, struct symindex_hit *hit, bool *found)
{
	if (!image->symbols && !(image->symbols = symindex_build(image->module)))
		return -ENOMEM;
	*found = symindex_find(image->symbols, vaddr, hit);
	return 0;
}

struct addr_memo *image_memo(struct image *image)
{
	return &image->memo;
}

struct pool *images_names(void)
{
	if (!names)
		names = pool_new();
	return names;
}

void images_release(void)
{
	for (size_t i = 0; i < image_count; i++) {
		memo_release(&images[i]->memo);
		symindex_free(images[i]->symbols);
		if (images[i]->dwfl)
			dwfl_end(images[i]->dwfl);
		free(images[i]->debuginfo_path);
		free(images[i]->detail);
		free(images[i]->path);
		free(images[i]);
	}
	free(images);
	images = NULL;
	image_count = image_capacity = 0;
	pool_free(names);
	names = NULL;
}
