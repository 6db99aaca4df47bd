#!/usr/bin/env bun
import { embeddedNatsMeta } from "./lib/runtime.ts";
const meta = await embeddedNatsMeta();
console.log(`unibus ${meta.unibusVersion} (${meta.target}), nats-server ${meta.version}`);
