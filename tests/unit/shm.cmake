# test_shm_space mounts a 64 KiB tmpfs on /dev/shm in its own mount namespace;
# where it may not (not root, no CAP_SYS_ADMIN) it exits 77: skipped.
set_tests_properties(unit_test_shm_space PROPERTIES SKIP_RETURN_CODE 77)
