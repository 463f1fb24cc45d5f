"""mec5g: a testbed emulator for secure remote patient monitoring over 5G MEC."""
