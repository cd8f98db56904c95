/* A stand-in for Windows' bcryptprimitives.dll, which Debian's Wine 8 lacks and Rust's
 * standard library imports for its random numbers (ProcessPrng). It forwards to
 * BCryptGenRandom, which Wine has. Built by .ci/run with mingw-w64 for the Windows test run
 * under Wine; never shipped. */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    return BCryptGenRandom(NULL, data, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}
