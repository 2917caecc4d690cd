# The proxy: sessions, pool on the event loop, backend connections, configuration.
add_library(sluice_proxy STATIC
  backend_commands.cpp
  backend_connector.cpp
  backend_pool.cpp
  client_session.cpp
  config.cpp
  frame_reader.cpp
  log.cpp
  server.cpp
  http_endpoint.cpp
  admin_commands.cpp
  admin_format.cpp
  admin_server.cpp
  socket_io.cpp
  prepared_statements.cpp
  session_state.cpp)
target_include_directories(sluice_proxy PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(sluice_proxy PUBLIC sluice_sql sluice_pool sluice_protocol sluice_metrics
                      Boost::headers Threads::Threads)

add_executable(sluice main.cpp)
target_link_libraries(sluice PRIVATE sluice_proxy)
install(TARGETS sluice RUNTIME DESTINATION bin)
