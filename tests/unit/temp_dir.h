// A directory under /tmp for one test, removed with everything in it.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace ioasid::test {

struct TempDir {
    std::filesystem::path root;
    // `name` goes into the directory's name, to tell whose it is.
    explicit TempDir(const std::string& name) {
        std::string tmpl = "/tmp/ioasid-" + name + "-XXXXXX";
        root = mkdtemp(tmpl.data());
    }
    ~TempDir() { std::filesystem::remove_all(root); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

}  // namespace ioasid::test
