//===- ConvertCommand.h - The `tfc convert` subcommand -----------*- C++ -*-===//
//
// tfc.cpp asks whether the command line chose `convert` and, if so, hands over.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_TOOLS_TFC_CONVERTCOMMAND_H
#define TFC_TOOLS_TFC_CONVERTCOMMAND_H

/// True after cl::ParseCommandLineOptions when argv[1] was `convert`.
bool convertCommandChosen();
/// Runs `tfc convert` with the parsed options; the exit status.
int runConvertCommand();

#endif // TFC_TOOLS_TFC_CONVERTCOMMAND_H
