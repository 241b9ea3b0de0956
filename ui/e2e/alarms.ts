// What the alarm journeys share: an alarm of their own, raised by a rule
// that one simulated vehicle's every report meets, so a journey can wait
// for it rather than for a time.
import type { API } from './assets-helpers';
import { expect } from './fixtures';

/** A simulated vehicle's device id, and the name the console gives it, by its ident. */
export async function vehicle(api: API, ident: string): Promise<{ id: string; name: string }> {
  const { devices } = await api.get<{ devices: { id: string; ident: string; name?: string }[] }>(`/devices?q=${encodeURIComponent(ident)}`);
  const d = devices.find((x) => x.ident === ident);
  expect(d, `device ${ident}`).toBeTruthy();
  return { id: d!.id, name: d!.name || ident };
}

/**
 * Makes a rule that the vehicle's next report meets (battery_v > 0, on it
 * alone), and answers once it has raised its alarm there.
 */
export async function raiseAlarm(api: API, rule: string, ident: string, severity = 'critical'): Promise<{ rule: string; alarm: string; device: string; name: string }> {
  const { id: device, name } = await vehicle(api, ident);
  const r = await api.must<{ id: string }>('POST', '/rules', {
    name: rule,
    kind: 'metric',
    severity,
    enabled: true,
    device_ids: [device],
    condition: { metric: 'battery_v', op: '>', value: 0 },
    for_s: 0,
  });
  let alarm = '';
  await expect
    .poll(
      async () => {
        const { alarms } = await api.get<{ alarms: { id: string; rule_id: string }[] }>(`/alarms?open=true&subject_id=${device}&limit=1000`);
        alarm = alarms.find((a) => a.rule_id === r.id)?.id ?? '';
        return alarm;
      },
      { timeout: 60_000, message: `${rule} raises its alarm on ${ident}` },
    )
    .not.toBe('');
  return { rule: r.id, alarm, device, name };
}
