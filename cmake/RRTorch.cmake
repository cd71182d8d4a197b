# rr_find_torch(): LibTorch for rr_core, either Debian's 1.13 (CPU, the default) or a CUDA LibTorch
# 2.x such as the one inside a Python torch installation, passed as
# CMAKE_PREFIX_PATH=<torch>/share/cmake (what torch.utils.cmake_prefix_path prints) or
# Torch_DIR=<torch>/share/cmake/Torch. docs/ARCHITECTURE.md, "Building against a CUDA LibTorch".
macro(rr_find_torch)
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
