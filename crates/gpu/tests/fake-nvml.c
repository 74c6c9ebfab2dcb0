/* A stand-in for the NVIDIA driver's libnvidia-ml.so, built by tests/nvml_probe.rs with the
 * system C compiler. It implements the NVML functions aidx calls and answers from constants
 * fixed at compile time (-D...), so the probe's real dlopen/dlsym/call path runs on a machine
 * without a GPU. */
#include <stdio.h>
#include <string.h>

#ifndef FAKE_DEVICES
#define FAKE_DEVICES 1
#endif
#ifndef FAKE_INIT_RESULT
#define FAKE_INIT_RESULT 0
#endif
#ifndef FAKE_MEMORY_RESULT
#define FAKE_MEMORY_RESULT 0
#endif
#ifndef FAKE_TOTAL
#define FAKE_TOTAL (12ULL << 30)
#endif
#ifndef FAKE_FREE
#define FAKE_FREE (10ULL << 30)
#endif

typedef struct {
    unsigned long long total, free, used;
} nvmlMemory_t;

static int initialised = 0;

int nvmlInit_v2(void) {
    if (FAKE_INIT_RESULT == 0) initialised++;
    return FAKE_INIT_RESULT;
}
int nvmlShutdown(void) {
    if (initialised == 0) return 1; /* NVML_ERROR_UNINITIALIZED */
    initialised--;
    return 0;
}
const char *nvmlErrorString(int result) {
    switch (result) {
    case 9: return "Driver Not Loaded";
    case 999: return "Unknown Error";
    default: return "Some Error";
    }
}
int nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    if (!initialised) return 1;
    snprintf(version, length, "550.54.15");
    return 0;
}
int nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!initialised) return 1;
    *count = FAKE_DEVICES;
    return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void **device) {
    if (!initialised || index >= FAKE_DEVICES) return 2; /* NVML_ERROR_INVALID_ARGUMENT */
    *device = (void *)(unsigned long)(index + 1);
    return 0;
}
int nvmlDeviceGetName(void *device, char *name, unsigned int length) {
    snprintf(name, length, "Fake GPU %lu", (unsigned long)device - 1);
    return 0;
}
int nvmlDeviceGetUUID(void *device, char *uuid, unsigned int length) {
    snprintf(uuid, length, "GPU-fake-%lu", (unsigned long)device - 1);
    return 0;
}
int nvmlDeviceGetMemoryInfo(void *device, nvmlMemory_t *memory) {
    unsigned long i = (unsigned long)device - 1;
    if (FAKE_MEMORY_RESULT != 0) return FAKE_MEMORY_RESULT;
    memory->total = FAKE_TOTAL;
    /* each further device has 1 GiB less free */
    memory->free = FAKE_FREE - (i << 30);
    memory->used = memory->total - memory->free;
    return 0;
}
/* How many inits are not shut down yet: the test checks the probe pairs them. */
int fake_open_inits(void) { return initialised; }
