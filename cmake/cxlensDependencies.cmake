# Finds cxlens's header-only dependencies: Eigen 3 and the Boost headers (Boost.Graph).
# The system's packages come first (Debian: libeigen3-dev, libboost-dev). When building the
# Python package on a machine without them, the build requirements `cmeel-eigen` and
# `boost-headers` from PyPI supply the same headers; they are located through Python.
find_package(Threads REQUIRED)

function(_cxlens_python_probe code out)
  if(NOT Python_EXECUTABLE)
    find_package(Python COMPONENTS Interpreter QUIET)
  endif()
  if(Python_EXECUTABLE)
    execute_process(COMMAND "${Python_EXECUTABLE}" -c "${code}" OUTPUT_VARIABLE result
      OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE status)
    if(status EQUAL 0 AND result)
      set(${out} "${result}" PARENT_SCOPE)
    endif()
  endif()
endfunction()

if(NOT TARGET Eigen3::Eigen)
  find_package(Eigen3 3.3 CONFIG QUIET)
  if(NOT Eigen3_FOUND)
    _cxlens_python_probe("import sys, os; print(next(os.path.join(p, 'cmeel.prefix') for p in sys.path if os.path.isdir(os.path.join(p, 'cmeel.prefix', 'include', 'eigen3'))))" cmeel_prefix)
    if(cmeel_prefix)
      find_package(Eigen3 3.3 CONFIG QUIET PATHS "${cmeel_prefix}" NO_DEFAULT_PATH)
    endif()
  endif()
  if(NOT Eigen3_FOUND)
    message(FATAL_ERROR "cxlens needs Eigen 3.3 or newer. Install it with your package manager "
      "(Debian/Ubuntu: apt-get install libeigen3-dev) or `pip install cmeel-eigen`, or point "
      "CMAKE_PREFIX_PATH at an Eigen install.")
  endif()
endif()

if(NOT TARGET Boost::headers)
  find_package(Boost 1.74 CONFIG QUIET)
  if(NOT Boost_FOUND)
    _cxlens_python_probe("import boost_headers; print(boost_headers.get_include())" boost_include)
    if(boost_include)
      add_library(Boost::headers INTERFACE IMPORTED)
      set_target_properties(Boost::headers PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${boost_include}")
      set(Boost_FOUND TRUE)
    endif()
  endif()
  if(NOT Boost_FOUND)
    message(FATAL_ERROR "cxlens needs the Boost headers (1.74 or newer, for Boost.Graph). Install "
      "them with your package manager (Debian/Ubuntu: apt-get install libboost-dev) or "
      "`pip install boost-headers`, or point CMAKE_PREFIX_PATH at a Boost install.")
  endif()
endif()
