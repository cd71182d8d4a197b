#pragma once
// Constructors of the methods, one per source file; registered in method.cpp.
#include <memory>

#include "methods/method.h"

namespace rr::core {

MethodEntry baselineEntry();
MethodEntry baseLoraEntry();
MethodEntry moreEntry();
MethodEntry rodosEntry();
MethodEntry arlissEntry();
MethodEntry dmoermEntry();
MethodEntry pretrainedEntry();

}  // namespace rr::core
