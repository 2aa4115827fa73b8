#include "format/shared_lib.hpp"

#include <dlfcn.h>

namespace rafs {

Result<void*> open_shared_lib(const char* soname, const char* package) {
  void* lib = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = ::dlerror();
    return make_error(Errc::unsupported, std::string(why != nullptr ? why : soname) + " (install the " +
                                             package + " package)");
  }
  return lib;
}

void* shared_lib_symbol(void* lib, const char* name) noexcept { return ::dlsym(lib, name); }

} // namespace rafs
