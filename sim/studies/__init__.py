"""Studies: many runs of one scenario, gathered into one answer (the calibration of a stress
file against its history; later, sweeps). Above the engine, which runs each one."""
