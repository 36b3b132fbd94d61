/*
 * Test-only stand-in for Windows' bcryptprimitives.dll, which Wine 8.0 (Debian 12) lacks and Rust's
 * standard library imports for ProcessPrng (its source of random numbers, used by HashMap) since
 * Windows 10. `cargo xtask setup` builds it with mingw-w64 into the private Wine prefix only; it is
 * never shipped: every Windows 10 and 11 has the real one.
 */
#include <windows.h>

/* advapi32's RtlGenRandom, exported under this name. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
