# svckit_proto_library(<target> PROTOS <file.proto>... [GRPC] [ROOT <dir>])
# Generates C++ from .proto files under the calling project's api/ folder (or ROOT) once, into the
# build tree, and builds it as one static library that other targets link (never regenerate per
# consumer). With GRPC, grpc_cpp_plugin's service stubs are generated too. Include generated headers
# as "chat/v1/chat.grpc.pb.h" (the path below api/). Installed with svckit: find_package(svckit
# COMPONENTS grpc) defines it.
function(svckit_proto_library target)
  cmake_parse_arguments(P "GRPC" "ROOT" "PROTOS" ${ARGN})
  set(api_root ${PROJECT_SOURCE_DIR}/api)
  set(out_dir ${PROJECT_BINARY_DIR}/gen)
  if(P_ROOT)
    set(api_root ${P_ROOT})
    set(out_dir ${PROJECT_BINARY_DIR}/gen/${target})
  endif()
  file(MAKE_DIRECTORY ${out_dir})
  set(sources)
  foreach(proto ${P_PROTOS})
    get_filename_component(abs ${proto} ABSOLUTE)
    file(RELATIVE_PATH rel ${api_root} ${abs})
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    set(outs ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h)
    set(args --cpp_out=${out_dir})
    if(P_GRPC)
      list(APPEND outs ${out_dir}/${stem}.grpc.pb.cc ${out_dir}/${stem}.grpc.pb.h)
      list(APPEND args --grpc_out=${out_dir} --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    endif()
    add_custom_command(OUTPUT ${outs}
      COMMAND protobuf::protoc -I ${api_root} ${args} ${abs}
      DEPENDS ${abs} protobuf::protoc
      COMMENT "protoc ${rel}" VERBATIM)
    list(APPEND sources ${outs})
  endforeach()
  add_library(${target} STATIC ${sources})
  target_include_directories(${target} SYSTEM PUBLIC ${out_dir})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf)
  if(P_GRPC)
    target_link_libraries(${target} PUBLIC gRPC::grpc++)
  endif()
  # Generated code is not ours to warn about.
  target_compile_options(${target} PRIVATE -w)
endfunction()
