# Link flags for corral-cli (line editing in interactive mode).
TOOL_LIBS_corral-cli = -ledit
