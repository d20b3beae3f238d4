import Host

await MCPV8Command.runFromCommandLine()
