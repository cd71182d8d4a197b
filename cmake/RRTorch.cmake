# rr_find_torch(): the LibTorch rr_core builds on (docs/ARCHITECTURE.md, "Which LibTorch").
#  - Default (RR_LIBTORCH=wheel): the CPU part of PyTorch's LibTorch 2.15, laid out in
#    <build>/libtorch by tools/fetch-libtorch.sh from the wheels on the Python package index
#    (libtorch_cpu and c10 only: no CUDA library is used, none is needed at run time).
#  - RR_LIBTORCH=system: Debian's libtorch-dev (1.13, CPU).
#  - A LibTorch passed as CMAKE_PREFIX_PATH=<torch>/share/cmake (what torch.utils.cmake_prefix_path
#    prints, e.g. the CUDA one of the GPU machine) or Torch_DIR=<torch>/share/cmake/Torch wins over
#    both.
set(RR_LIBTORCH "wheel" CACHE STRING
  "LibTorch without a CMAKE_PREFIX_PATH/Torch_DIR one: wheel (2.15 CPU, fetched) or system (Debian)")
set_property(CACHE RR_LIBTORCH PROPERTY STRINGS wheel system)

# The wheel's CPU libraries as imported targets. TorchConfig.cmake of a CUDA wheel would enable
# CUDA and link libtorch_cuda; this build needs neither.
macro(rr_use_wheel_libtorch)
  set(_rr_lt "${CMAKE_BINARY_DIR}/libtorch")
  execute_process(COMMAND "${CMAKE_SOURCE_DIR}/tools/fetch-libtorch.sh" "${_rr_lt}"
    RESULT_VARIABLE _rr_fetch OUTPUT_QUIET)
  if(NOT _rr_fetch EQUAL 0)
    message(FATAL_ERROR "tools/fetch-libtorch.sh could not lay out LibTorch in ${_rr_lt} (its "
      "message is above). Without the package index, configure with -DRR_LIBTORCH=system "
      "(Debian's libtorch-dev) or CMAKE_PREFIX_PATH=<a LibTorch>.")
  endif()
  file(READ "${_rr_lt}/version" Torch_VERSION)
  string(STRIP "${Torch_VERSION}" Torch_VERSION)
  add_library(rr_c10 SHARED IMPORTED GLOBAL)
  set_target_properties(rr_c10 PROPERTIES IMPORTED_LOCATION "${_rr_lt}/lib/libc10.so")
  add_library(rr_torch_cpu SHARED IMPORTED GLOBAL)
  set(TORCH_INCLUDE_DIRS "${_rr_lt}/include" "${_rr_lt}/include/torch/csrc/api/include")
  # The definitions the wheel's own torch_cpu target carries (Caffe2Targets.cmake): its c10d
  # headers declare Gloo only under USE_C10D_GLOO.
  set_target_properties(rr_torch_cpu PROPERTIES
    IMPORTED_LOCATION "${_rr_lt}/lib/libtorch_cpu.so"
    INTERFACE_INCLUDE_DIRECTORIES "${TORCH_INCLUDE_DIRS}"
    INTERFACE_COMPILE_DEFINITIONS "USE_DISTRIBUTED;USE_C10D_GLOO"
    INTERFACE_COMPILE_FEATURES cxx_std_20
    INTERFACE_LINK_LIBRARIES rr_c10)
  set(TORCH_LIBRARIES rr_torch_cpu)
  set(TORCH_INSTALL_PREFIX "${_rr_lt}")
  set(Torch_FOUND TRUE)
  message(STATUS "LibTorch ${Torch_VERSION} (CPU, from the wheel) at ${_rr_lt}")
endmacro()

macro(rr_find_torch)
  set(_rr_torch_given FALSE)
  foreach(_rr_dir IN ITEMS ${Torch_DIR} ${CMAKE_PREFIX_PATH})
    # Debian's own (a Torch_DIR a build folder configured before the wheel became the default
    # keeps in its cache) counts only with RR_LIBTORCH=system: such a folder moves to the wheel.
    if((EXISTS "${_rr_dir}/TorchConfig.cmake" OR EXISTS "${_rr_dir}/Torch/TorchConfig.cmake")
       AND NOT _rr_dir MATCHES "^/usr/lib/")
      set(_rr_torch_given TRUE)
    endif()
  endforeach()
  if(NOT _rr_torch_given AND RR_LIBTORCH STREQUAL "wheel")
    rr_use_wheel_libtorch()
  else()
    rr_find_cmake_torch()
  endif()
endmacro()

macro(rr_find_cmake_torch)
  # TorchConfig.cmake finds c10 with find_library(c10 PATHS <torch>/lib), and find_library searches
  # the system directories before PATHS: with Debian's libtorch-dev installed, a torch 2.x build
  # would link Debian's 1.13 libc10.so. Putting <torch> itself first on CMAKE_PREFIX_PATH makes
  # <torch>/lib win.
  foreach(_rr_dir IN ITEMS ${Torch_DIR} ${CMAKE_PREFIX_PATH})
    foreach(_rr_cfg "${_rr_dir}/TorchConfig.cmake" "${_rr_dir}/Torch/TorchConfig.cmake")
      if(EXISTS "${_rr_cfg}")
        get_filename_component(_rr_cfg_dir "${_rr_cfg}" DIRECTORY)
        get_filename_component(_rr_torch_root "${_rr_cfg_dir}/../../.." ABSOLUTE)
        list(PREPEND CMAKE_PREFIX_PATH "${_rr_torch_root}")
      endif()
    endforeach()
  endforeach()

  # A CUDA LibTorch enables the CUDA language and needs nvcc even though rr_core has no CUDA
  # sources; the toolkit is often installed in /usr/local/cuda without being on PATH.
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
    find_program(_rr_nvcc nvcc)
    if(NOT _rr_nvcc AND EXISTS /usr/local/cuda/bin/nvcc)
      set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc CACHE FILEPATH "CUDA compiler")
    endif()
  endif()
  # Without a GPU to detect, LibTorch picks a list of architectures that includes ones CUDA 13
  # no longer supports; only a .cu file would notice, but name the device machine's H200.
  if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
    set(TORCH_CUDA_ARCH_LIST "9.0")
  endif()

  find_package(Torch REQUIRED)

  # Catch a stale cache (a build folder first configured against another LibTorch).
  foreach(_rr_lib IN ITEMS c10_LIBRARY C10_CUDA_LIBRARY)
    if(${_rr_lib})
      get_filename_component(_rr_real "${${_rr_lib}}" REALPATH)
      get_filename_component(_rr_prefix "${TORCH_INSTALL_PREFIX}" REALPATH)
      string(FIND "${_rr_real}" "${_rr_prefix}/" _rr_pos)
      if(NOT _rr_pos EQUAL 0)
        message(FATAL_ERROR "${_rr_lib} is ${${_rr_lib}}, not under the LibTorch at "
          "${TORCH_INSTALL_PREFIX}: remove it from CMakeCache.txt (or use a fresh build folder).")
      endif()
    endif()
  endforeach()
  # A wheel's libtorch_cuda.so finds its CUDA libraries (NCCL, cuDNN, cuBLAS, cudart of the CUDA it
  # was built with) in site-packages/nvidia/*/lib through its own RPATH. The linker and the loader
  # must see those first, not an older copy from the installed toolkit (/usr/local/cuda/lib ships
  # an NCCL that lacks symbols libtorch_cuda.so needs, and LibTorch links the toolkit's cudart).
  get_filename_component(_rr_site "${TORCH_INSTALL_PREFIX}" DIRECTORY)
  file(GLOB _rr_wheel_cuda_dirs LIST_DIRECTORIES true "${_rr_site}/nvidia/*/lib")
  if(TORCH_CUDA_LIBRARIES AND _rr_wheel_cuda_dirs)
    list(JOIN _rr_wheel_cuda_dirs ":" _rr_wheel_cuda_path)
    add_link_options("LINKER:-rpath-link,${_rr_wheel_cuda_path}")
    list(PREPEND CMAKE_BUILD_RPATH ${_rr_wheel_cuda_dirs})
  endif()
  if(TORCH_CUDA_LIBRARIES)
    message(STATUS "LibTorch ${Torch_VERSION} (CUDA) at ${TORCH_INSTALL_PREFIX}")
  else()
    message(STATUS "LibTorch ${Torch_VERSION} (CPU) at ${TORCH_INSTALL_PREFIX}")
  endif()
endmacro()
