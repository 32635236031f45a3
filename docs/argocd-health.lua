-- Argo CD health check for AWSProvider and ECRRepository (aws-infra-operator.runner.codes).
-- Install it under resource.customizations.health.<group>_<kind> for both kinds; see docs/install.md.
--
-- The operator writes kstatus conditions: Ready (True once the AWS side matches the spec),
-- Reconciling (True while it works towards the spec) and Stalled (True when nothing changes
-- without the user), each with observedGeneration. A status written for an older generation says
-- nothing about the current spec, so it counts as Progressing, never as Healthy or Degraded.
-- Written for Argo CD's Lua 5.1 sandbox: base, string and table functions only.

local hs = {}

local function condition(conditions, type)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

-- A condition describes the current spec when its observedGeneration is not behind the object's.
local function current(c, generation)
  if generation == nil or c.observedGeneration == nil then
    return true
  end
  return c.observedGeneration >= generation
end

local function describe(c)
  local text = c.reason or c.type
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting: waiting for the operator to carry out the deletion policy"
  return hs
end

local status = obj.status
if status == nil or status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local stalled = condition(status.conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" and current(stalled, generation) then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end

local ready = condition(status.conditions, "Ready")
if ready ~= nil and ready.status == "True" and current(ready, generation) then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

local reconciling = condition(status.conditions, "Reconciling")
hs.status = "Progressing"
if reconciling ~= nil and reconciling.status == "True" and current(reconciling, generation) then
  hs.message = describe(reconciling)
elseif ready ~= nil and current(ready, generation) then
  hs.message = describe(ready)
else
  hs.message = "Waiting for the operator to report the Ready condition"
end
return hs
