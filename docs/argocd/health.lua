-- Argo CD health check of the mhst.io kinds (LocalArea, SupportTeam,
-- SchoolCoverage). Install it under the three keys
--   resource.customizations.health.mhst.io_LocalArea
--   resource.customizations.health.mhst.io_SupportTeam
--   resource.customizations.health.mhst.io_SchoolCoverage
-- of argocd-cm (see docs/gitops.md).
--
-- It reads the conditions the operator writes, the way kstatus (Flux) does:
--   Stalled=True                        -> Degraded (only a person can fix it)
--   Reconciling=True, or a generation
--   the operator has not yet observed   -> Progressing
--   Ready=True                          -> Healthy
--   Ready=False because the object is
--   suspended or waits for activateAt   -> Suspended
--   Ready=False otherwise               -> Progressing (waiting on something
--                                          that will change, e.g. a team
--                                          not yet created)
-- Written for Argo CD's Lua 5.1 (gopher-lua): no goto, no integer division.

local function find(conditions, conditionType)
  for _, c in ipairs(conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function describe(c)
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason
end

-- Reasons of a Ready=False that a person chose: nothing is wrong.
local pausedReasons = { Suspended = true, Scheduled = true, TeamSuspended = true }

local hs = { status = "Progressing", message = "Waiting for the mhst-operator to report status" }

if obj.metadata.deletionTimestamp ~= nil then
  hs.message = "Being deleted"
  return hs
end
if obj.status == nil or obj.status.conditions == nil then
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.message = "Waiting for the mhst-operator to observe generation " .. generation
  return hs
end

local conditions = obj.status.conditions
local stalled = find(conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end
local reconciling = find(conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling)
  return hs
end
local ready = find(conditions, "Ready")
if ready == nil then
  return hs
end
if generation ~= nil and ready.observedGeneration ~= nil and ready.observedGeneration < generation then
  hs.message = "Waiting for the mhst-operator to observe generation " .. generation
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
elseif pausedReasons[ready.reason] then
  hs.status = "Suspended"
end
hs.message = describe(ready)
return hs
