import { readFileSync } from 'node:fs';

// Where the CPU goes explains most gaps on a small machine: the client (Node or pgbench), PostgreSQL and the
// broker share the same cores, so a window records both this process's CPU and the whole machine's.

interface Jiffies {
  readonly busy: number;
  readonly total: number;
}

function machineJiffies(): Jiffies | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: idle and iowait are the not-busy ones
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null; // not Linux: the machine figure is simply left out
  }
}

export interface CpuWindow {
  /** This process's CPU time over the window, in percent of one core. */
  readonly processPercentOfCore: number;
  /** The whole machine's busy time over the window, in percent of all cores (null off Linux). */
  readonly machineBusyPercent: number | null;
}

/** Starts a measurement window; call the returned function to close it. */
export function cpuWindow(): () => CpuWindow {
  const startedAt = performance.now();
  const processStart = process.cpuUsage();
  const machineStart = machineJiffies();
  return () => {
    const elapsedUs = (performance.now() - startedAt) * 1000;
    const used = process.cpuUsage(processStart);
    const machineEnd = machineJiffies();
    const machineBusyPercent =
      machineStart && machineEnd && machineEnd.total > machineStart.total
        ? (100 * (machineEnd.busy - machineStart.busy)) / (machineEnd.total - machineStart.total)
        : null;
    return {
      processPercentOfCore: elapsedUs > 0 ? (100 * (used.user + used.system)) / elapsedUs : 0,
      machineBusyPercent,
    };
  };
}

/** The machine's busy share over a short idle moment: a loaded machine before the run makes noisy numbers. */
export async function machineBusyPercent(sampleMs: number): Promise<number | null> {
  const before = machineJiffies();
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const after = machineJiffies();
  if (!before || !after || after.total <= before.total) return null;
  return (100 * (after.busy - before.busy)) / (after.total - before.total);
}
