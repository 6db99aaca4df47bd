/** serviceOfCgroupText reads the systemd service out of /proc/PID/cgroup, v2 and v1 alike. */
import { describe, expect, test } from "bun:test";
import { serviceOfCgroupText } from "../../lib/systemd/cgroup.ts";

describe("serviceOfCgroupText", () => {
  test("the unified hierarchy (Debian 12/13)", () => {
    expect(serviceOfCgroupText("0::/system.slice/unibus.service\n")).toBe("unibus");
  });
  test("cgroup v1's name=systemd line", () => {
    expect(serviceOfCgroupText("4:memory:/system.slice/unibus.service\n1:name=systemd:/system.slice/unibus.service\n0::/\n")).toBe("unibus");
  });
  test("a process outside any service (a login session, a container's root)", () => {
    expect(serviceOfCgroupText("0::/user.slice/user-1000.slice/session-3.scope\n")).toBeUndefined();
    expect(serviceOfCgroupText("1:name=systemd:/\n0::/\n")).toBeUndefined();
  });
});
