/*
 * uml-xstate.so: loaded into Debian's user-mode Linux (6.1) by tools/uml with LD_PRELOAD.
 *
 * Why: UML keeps each guest thread's FPU state in a fixed buffer sized for x87, SSE and AVX (832 bytes), and
 * moves it with PTRACE_GETREGSET / PTRACE_SETREGSET (NT_X86_XSTATE). The host kernel takes a SETREGSET only
 * with its whole XSAVE area (fpu_user_cfg.max_size): on a CPU with AVX-512 or AMX that area is larger, and
 * every write fails with EFAULT, so the guest's first process dies ("userspace - ptrace set fp regs failed,
 * errno = 14") and the kernel panics at boot. Newer UML kernels size the buffer from the host.
 *
 * What: this wraps libc's ptrace(). A read of the XSAVE area into a buffer smaller than the host's reads the
 * whole area, gives UML the part that fits, and keeps the rest beside UML's buffer (keyed by its address, which
 * is per guest thread). A write of UML's part writes the whole area: UML's part over the rest it was read with
 * (or, for a buffer never read, over the thread's current state). So each guest thread keeps its whole state,
 * AVX-512 registers too, across UML's switches. Every other request, and any host whose XSAVE area fits UML's
 * buffer, goes to libc's ptrace() unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#define AREA_MAX 65536 /* larger than any XSAVE area (AMX makes it ~11 KiB) */
#define SLOTS 4096     /* guest threads whose extended state is kept; more fall back to the current state */

typedef long (*ptrace_fn)(int, pid_t, void *, void *);

static ptrace_fn real_ptrace;
static unsigned char scratch[AREA_MAX] __attribute__((aligned(64)));
static size_t area_size; /* the host's XSAVE area, learned at the first read */
static struct {
    void *key;
    unsigned char *area;
} slots[SLOTS];

/* The kept area of UML's buffer ``key``; with ``create``, a new one when there is none (NULL: no room). */
static unsigned char *slot(void *key, int create)
{
    size_t start = ((uintptr_t)key >> 4) % SLOTS;
    for (size_t i = 0; i < SLOTS; i++) {
        size_t j = (start + i) % SLOTS;
        if (slots[j].key == key)
            return slots[j].area;
        if (slots[j].key == NULL) {
            if (!create)
                return NULL;
            slots[j].area = aligned_alloc(64, AREA_MAX);
            if (slots[j].area == NULL)
                return NULL;
            slots[j].key = key;
            return slots[j].area;
        }
    }
    return NULL;
}

/* The whole XSAVE area of ``pid`` into ``area`` (AREA_MAX bytes); its size, or -1 (errno set). */
static long read_area(pid_t pid, unsigned char *area)
{
    struct iovec whole = {area, AREA_MAX};
    if (real_ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &whole) < 0)
        return -1;
    area_size = whole.iov_len;
    return (long)whole.iov_len;
}

long ptrace(enum __ptrace_request request, ...)
{
    va_list ap;
    pid_t pid;
    void *addr, *data;

    va_start(ap, request);
    pid = va_arg(ap, pid_t);
    addr = va_arg(ap, void *);
    data = va_arg(ap, void *);
    va_end(ap);
    if (real_ptrace == NULL)
        real_ptrace = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
    if ((long)addr != NT_X86_XSTATE || data == NULL ||
        (request != PTRACE_GETREGSET && request != PTRACE_SETREGSET))
        return real_ptrace(request, pid, addr, data);

    struct iovec *iov = data;
    size_t part = iov->iov_len;
    if (request == PTRACE_GETREGSET) {
        if (read_area(pid, scratch) < 0)
            return -1;
        if (area_size <= part) {
            memcpy(iov->iov_base, scratch, area_size);
            iov->iov_len = area_size;
            return 0;
        }
        unsigned char *kept = slot(iov->iov_base, 1);
        if (kept != NULL)
            memcpy(kept, scratch, area_size);
        memcpy(iov->iov_base, scratch, part);
        return 0;
    }
    if (area_size == 0 && read_area(pid, scratch) < 0)
        return -1;
    if (part >= area_size)
        return real_ptrace(request, pid, addr, data);
    unsigned char *area = slot(iov->iov_base, 0);
    if (area == NULL) {
        if (read_area(pid, scratch) < 0)
            return -1;
        area = scratch;
    }
    memcpy(area, iov->iov_base, part);
    struct iovec whole = {area, area_size};
    return real_ptrace(PTRACE_SETREGSET, pid, addr, &whole);
}
