# Strict warning set for plcio's own code.
#
# -Wconversion catches every implicit narrowing (a 32-bit length stored in a 16-bit
# wire field, a double stored in a float) which is exactly the bug class of protocol
# code. -Wsign-conversion (which C's -Wconversion implies) is switched off: it fires on
# every size_t/int mix in loops and buffer arithmetic and buries the real findings; the
# value-losing conversions it would add are still caught by -Wconversion itself.
set(PLCIO_WARNINGS
  -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion
  -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition
  -Wformat=2 -Wundef -Wpointer-arith -Wvla -Wcast-align
  -Wwrite-strings -Wnull-dereference -Wdouble-promotion)

function(plcio_apply_warnings target)
  target_compile_options(${target} PRIVATE ${PLCIO_WARNINGS})
  if(PLCIO_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
