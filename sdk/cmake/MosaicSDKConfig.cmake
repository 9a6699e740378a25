# find_package(MosaicSDK) for plugins built outside the Mosaic tree.
#   MosaicSDK::sdk      the ABI headers and the C++ wrapper (header-only)
#   MosaicSDK::testing  the fake host and conformance suites (needs GTest)
#   mosaic_add_plugin(target SOURCES ... [LIBRARIES ...])
get_filename_component(_mosaic_sdk_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(NOT TARGET MosaicSDK::sdk)
  add_library(MosaicSDK::sdk INTERFACE IMPORTED)
  set_target_properties(MosaicSDK::sdk PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_mosaic_sdk_prefix}/include"
    INTERFACE_COMPILE_FEATURES cxx_std_20)
  add_library(MosaicSDK::testing INTERFACE IMPORTED)
  set_target_properties(MosaicSDK::testing PROPERTIES
    INTERFACE_LINK_LIBRARIES "MosaicSDK::sdk;${CMAKE_DL_LIBS}")
endif()

include("${CMAKE_CURRENT_LIST_DIR}/MosaicPluginFunctions.cmake")
set(MosaicSDK_FOUND TRUE)
