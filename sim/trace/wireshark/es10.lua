-- Wireshark / tshark dissector for GSMA SGP.22 ES10 (ES10a/b/c, SGP.22 5.7) carried in
-- GlobalPlatform STORE DATA to the ISD-R (GP Card Specification 11.11: CLA 80|channel,
-- INS E2, P1 11 more blocks / 91 last block, P2 block number), as bridgelab's GSMTAP traces
-- hold them (sim/trace/gsmtap.ts): one GSM SIM frame per C-APDU + R-APDU.
--
-- A post-dissector: Wireshark's own gsm_sim decoding stays; this adds an "SGP.22 ES10" tree
-- naming the function of each command and response by its tag (BF20 GetEUICCInfo1 ...
-- BF43 GetRAT, names and ASN.1 types from the SGP.22 RSPDefinitions module), joining
-- multi-block commands (P1 11) and responses read with GET RESPONSE after 61xx (ISO/IEC
-- 7816-4 / ETSI TS 102 221 7.3.1.1.4), showing the BER-TLV tree and the result code of the
-- simple responses. It also decodes the ATR records of the traces (GSMTAP-LOG "ATR ...")
-- with Wireshark's ISO 7816 ATR dissector.
--
-- Use: tshark -X lua_script:sim/trace/wireshark/es10.lua -r apdu.pcap -V
--      (Wireshark: copy it to the personal Lua plugins folder, or -X lua_script:... too)
-- Display filters: es10, es10.function == "GetProfilesInfo", es10.direction == "response".
-- Works with the Lua of Wireshark 4.0 (Debian 12) and later: no bit operators, no bit library.

local es10 = Proto("es10", "SGP.22 ES10")

local f_function = ProtoField.string("es10.function", "Function")
local f_direction = ProtoField.string("es10.direction", "Direction")
local f_asn1 = ProtoField.string("es10.asn1_type", "ASN.1 type")
local f_tag = ProtoField.string("es10.tag", "Tag")
local f_block = ProtoField.uint8("es10.block", "STORE DATA block number")
local f_channel = ProtoField.uint8("es10.channel", "Logical channel")
local f_result = ProtoField.string("es10.result", "Result")
local f_value = ProtoField.bytes("es10.value", "Value")
local f_note = ProtoField.string("es10.note", "Note")
es10.fields = { f_function, f_direction, f_asn1, f_tag, f_block, f_channel, f_result, f_value, f_note }

-- Tag -> ES10 function (SGP.22 5.7) and the ASN.1 type (RSPDefinitions) a command / a
-- response beginning with that tag holds (the response to BF36 is tagged BF37).
local FUNCTIONS = {
  BF20 = { "GetEUICCInfo1", "GetEuiccInfo1Request", "EUICCInfo1" },
  BF21 = { "PrepareDownload", "PrepareDownloadRequest", "PrepareDownloadResponse" },
  BF22 = { "GetEUICCInfo2", "GetEuiccInfo2Request", "EUICCInfo2" },
  BF23 = { "InitialiseSecureChannel", "InitialiseSecureChannelRequest", "InitialiseSecureChannelRequest" },
  BF24 = { "ConfigureISDP", "ConfigureISDPRequest", "ConfigureISDPRequest" },
  BF25 = { "StoreMetadata", "StoreMetadataRequest", "StoreMetadataRequest" },
  BF26 = { "ReplaceSessionKeys", "ReplaceSessionKeysRequest", "ReplaceSessionKeysRequest" },
  BF27 = { "ProfileInstallationResultData", "ProfileInstallationResultData", "ProfileInstallationResultData" },
  BF28 = { "ListNotification", "ListNotificationRequest", "ListNotificationResponse" },
  BF29 = { "SetNickname", "SetNicknameRequest", "SetNicknameResponse" },
  BF2A = { "UpdateMetadata", "UpdateMetadataRequest", "UpdateMetadataRequest" },
  BF2B = { "RetrieveNotificationsList", "RetrieveNotificationsListRequest", "RetrieveNotificationsListResponse" },
  BF2D = { "GetProfilesInfo", "ProfileInfoListRequest", "ProfileInfoListResponse" },
  BF2E = { "GetEUICCChallenge", "GetEuiccChallengeRequest", "GetEuiccChallengeResponse" },
  BF2F = { "NotificationMetadata", "NotificationMetadata", "NotificationMetadata" },
  BF30 = { "NotificationSent", "NotificationSentRequest", "NotificationSentResponse" },
  BF31 = { "EnableProfile", "EnableProfileRequest", "EnableProfileResponse" },
  BF32 = { "DisableProfile", "DisableProfileRequest", "DisableProfileResponse" },
  BF33 = { "DeleteProfile", "DeleteProfileRequest", "DeleteProfileResponse" },
  BF34 = { "eUICCMemoryReset", "EuiccMemoryResetRequest", "EuiccMemoryResetResponse" },
  BF35 = { "LoadCRL", "LoadCRLRequest", "LoadCRLResponse" },
  BF36 = { "LoadBoundProfilePackage", "BoundProfilePackage", "BoundProfilePackage" },
  BF37 = { "LoadBoundProfilePackage", "ProfileInstallationResult", "ProfileInstallationResult" },
  BF38 = { "AuthenticateServer", "AuthenticateServerRequest", "AuthenticateServerResponse" },
  BF3C = { "GetEuiccConfiguredAddresses", "EuiccConfiguredAddressesRequest", "EuiccConfiguredAddressesResponse" },
  BF3E = { "GetEID", "GetEuiccDataRequest", "GetEuiccDataResponse" },
  BF3F = { "SetDefaultDpAddress", "SetDefaultDpAddressRequest", "SetDefaultDpAddressResponse" },
  BF41 = { "CancelSession", "CancelSessionRequest", "CancelSessionResponse" },
  BF42 = { "LpaeActivation", "LpaeActivationRequest", "LpaeActivationResponse" },
  BF43 = { "GetRAT", "GetRatRequest", "GetRatResponse" },
}

-- The parts of a Bound Profile Package the LPA sends as STORE DATA sequences after the
-- first one (SGP.22 2.5.5 / 5.7.6): BoundProfilePackage fields.
local BPP_PARTS = {
  A0 = "firstSequenceOf87 (ConfigureISDP)",
  A1 = "sequenceOf88 (StoreMetadata)",
  A2 = "secondSequenceOf87 (ReplaceSessionKeys)",
  A3 = "sequenceOf86 (profile elements)",
  ["86"] = "profile element segment",
  ["87"] = "protected ConfigureISDP / ReplaceSessionKeys",
  ["88"] = "protected StoreMetadata",
}

-- Response tag -> its single result INTEGER (RSPDefinitions named numbers).
local RESULTS = {
  BF29 = { "setNicknameResult", { [0] = "ok", [1] = "iccidNotFound", [127] = "undefinedError" } },
  BF30 = { "deleteNotificationStatus", { [0] = "ok", [1] = "nothingToDelete", [127] = "undefinedError" } },
  BF31 = { "enableResult", { [0] = "ok", [1] = "iccidOrAidNotFound", [2] = "profileNotInDisabledState", [3] = "disallowedByPolicy", [4] = "wrongProfileReenabling", [5] = "catBusy", [127] = "undefinedError" } },
  BF32 = { "disableResult", { [0] = "ok", [1] = "iccidOrAidNotFound", [2] = "profileNotInEnabledState", [3] = "disallowedByPolicy", [5] = "catBusy", [127] = "undefinedError" } },
  BF33 = { "deleteResult", { [0] = "ok", [1] = "iccidOrAidNotFound", [2] = "profileNotInDisabledState", [3] = "disallowedByPolicy", [127] = "undefinedError" } },
  BF34 = { "resetResult", { [0] = "ok", [1] = "nothingToDelete", [5] = "catBusy", [127] = "undefinedError" } },
  BF3F = { "setDefaultDpAddressResult", { [0] = "ok", [127] = "undefinedError" } },
}

-- Field names common to many ES10 structures (SGP.22 RSPDefinitions, application tags).
local COMMON_TAGS = {
  ["4F"] = "isdpAid",
  ["5A"] = "EID / ICCID",
  ["5C"] = "tagList",
  ["5F37"] = "signature",
  ["7F21"] = "Certificate",
  ["9F70"] = "profileState",
  E3 = "ProfileInfo",
}

-- Wireshark 4.0 does not hand the GSMTAP header fields to post-dissectors: the header is read
-- from the bytes after the UDP header (GSMTAP: version, length in words, type)
local udp_dstport = Field.new("udp.dstport")
local gsmtap_log_string = Field.new("gsmtap_log.string")
local ip_src = Field.new("ip.src")
local GSMTAP_PORT = 4729

-- arithmetic stand-ins for bit operations (Lua 5.2 has none, 5.4's differ)
local function bit_set(value, bit) return math.floor(value / bit) % 2 == 1 end
local function hex2(n) return string.format("%02X", n) end

-- One BER-TLV at `off` of ByteArray `ba` (ISO/IEC 8825-1 8.1): tag hex, constructed,
-- header length, value length; nil when the header itself is cut.
local function tlv_header(ba, off, limit)
  if off >= limit then return nil end
  local first = ba:get_index(off)
  local tag = hex2(first)
  local i = off + 1
  if first % 32 == 31 then
    repeat
      if i >= limit then return nil end
      local b = ba:get_index(i)
      tag = tag .. hex2(b)
      i = i + 1
    until not bit_set(b, 0x80)
  end
  if i >= limit then return nil end
  local len = ba:get_index(i)
  i = i + 1
  if len > 0x80 then
    local n = len - 0x80
    if n > 3 or i + n > limit then return nil end
    len = 0
    for _ = 1, n do
      len = len * 256 + ba:get_index(i)
      i = i + 1
    end
  elseif len == 0x80 then
    return nil -- indefinite length is not DER
  end
  return tag, bit_set(first, 0x20), i - off, len
end

local function tag_name(tag, parent, depth, direction)
  local f = FUNCTIONS[tag]
  if f and depth == 0 then return direction == "command" and f[2] or f[3] end
  if f then return f[1] end
  if parent == "BF36" or parent == "BPP" then return BPP_PARTS[tag] end
  return COMMON_TAGS[tag]
end

-- Add the TLVs of tvb(off, len) to `tree`, recursing into constructed ones.
local function add_tlvs(tree, tvb, ba, off, limit, parent, depth, direction)
  while off < limit do
    local tag, constructed, hlen, vlen = tlv_header(ba, off, limit)
    if not tag then
      tree:add(f_value, tvb(off, limit - off)):append_text(" (not a complete BER-TLV)")
      return
    end
    local avail = math.min(vlen, limit - off - hlen)
    local name = tag_name(tag, parent, depth, direction)
    local label = string.format("%s%s, length %d", tag, name and (" " .. name) or "", vlen)
    if avail < vlen then label = label .. string.format(" (%d bytes here, the rest in later blocks or segments)", avail) end
    local item = tree:add(es10, tvb(off, hlen + avail), label)
    if constructed and depth < 12 and avail > 0 then
      add_tlvs(item, tvb, ba, off + hlen, off + hlen + avail, tag, depth + 1, direction)
    elseif avail > 0 then
      item:add(f_value, tvb(off + hlen, avail))
    end
    off = off + hlen + avail
  end
end

local function first_tag(ba)
  if ba:len() == 0 then return nil end
  return (tlv_header(ba, 0, ba:len()))
end

-- state of the ES10 conversation per hop and logical channel, built on the first pass;
-- what each frame shows is kept per frame so that later passes (clicks) do not depend on order
local channels = {}
local frames = {}

function es10.init()
  channels = {}
  frames = {}
end

local function channel_of(cla)
  if bit_set(cla, 0x40) then return 4 + cla % 16 end
  return cla % 4
end

local function describe_command(st, data, p1, p2)
  local last = bit_set(p1, 0x80)
  if p2 == 0 then st.command = data else st.command = (st.command or ByteArray.new()) .. data end
  local tag = first_tag(st.command)
  local fn
  if tag and FUNCTIONS[tag] then
    fn = FUNCTIONS[tag][1]
    st.bpp = (tag == "BF36")
  elseif tag and st.bpp and BPP_PARTS[tag] then
    fn = "LoadBoundProfilePackage"
  end
  st.fn = fn or st.fn
  return {
    direction = "command",
    fn = fn,
    tag = tag,
    block = p2,
    last = last,
    data = last and st.command or nil,
    bpp_part = (fn == "LoadBoundProfilePackage" and tag ~= "BF36") and tag or nil,
  }
end

local function describe_response(st, chunk, sw1)
  st.response = (st.response or ByteArray.new()) .. chunk
  if sw1 == 0x61 and chunk:len() == 0 then return nil end
  if sw1 == 0x61 then
    return { direction = "response", fn = st.fn, partial = true }
  end
  local data = st.response
  st.response = nil
  local tag = first_tag(data)
  local fn = (tag and FUNCTIONS[tag] and FUNCTIONS[tag][1]) or st.fn
  if data:len() == 0 then return nil end
  return { direction = "response", fn = fn, tag = tag, data = data }
end

local function slice(ba, off, len)
  if len <= 0 then return ByteArray.new() end
  return ba:subset(off, len)
end

-- First pass: what this frame is in the ES10 conversation (nil: not ES10).
local function analyse(payload, key)
  local n = payload:len()
  if n < 7 then return nil end
  local cla, ins, p1, p2, p3 = payload:get_index(0), payload:get_index(1), payload:get_index(2), payload:get_index(3), payload:get_index(4)
  local st = channels[key .. "/" .. channel_of(cla)]
  if ins == 0xE2 and math.floor(p1 / 8) % 16 == 2 then -- GP 11.11.2.1: P1 b5-b4 '10' BER-TLV
    if 5 + p3 + 2 > n then return nil end
    if not st then
      st = {}
      channels[key .. "/" .. channel_of(cla)] = st
    end
    st.response = nil
    local out = describe_command(st, slice(payload, 5, p3), p1, p2)
    out.channel = channel_of(cla)
    local rest = 5 + p3
    -- a Le byte 00 is there when more than a status word follows and the response data
    -- would otherwise start with 00 (ES10 responses are BER-TLVs with tag BFxx)
    if n - rest >= 3 and payload:get_index(rest) == 0 then rest = rest + 1 end
    local sw1 = payload:get_index(n - 2)
    if n - 2 > rest or sw1 == 0x61 then
      out.response = describe_response(st, slice(payload, rest, n - 2 - rest), sw1)
    end
    return out
  elseif ins == 0xC0 and st and st.response then -- GET RESPONSE continuing an ES10 answer
    local sw1 = payload:get_index(n - 2)
    local r = describe_response(st, slice(payload, 5, n - 7), sw1)
    if r then r.channel = channel_of(cla) end
    return r
  end
  return nil
end

local function add_part(tree, tvb, part, key)
  local label = part.direction == "command" and (part.fn or "unknown ES10 command") or ((part.fn or "ES10") .. " response")
  if part.partial then label = label .. " (first part; the rest follows GET RESPONSE)" end
  local sub = tree:add(es10, tvb(), "SGP.22 ES10: " .. label)
  if part.fn then sub:add(f_function, part.fn) end
  sub:add(f_direction, part.direction)
  if part.channel then sub:add(f_channel, part.channel) end
  if part.block then
    sub:add(f_block, part.block):append_text(part.last and " (last block)" or " (more blocks follow)")
  end
  if part.tag then
    sub:add(f_tag, part.tag)
    local f = FUNCTIONS[part.tag]
    if f then sub:add(f_asn1, part.direction == "command" and f[2] or f[3]) end
  end
  if part.bpp_part then sub:add(f_note, "Bound Profile Package part: " .. (BPP_PARTS[part.bpp_part] or part.bpp_part)) end
  if part.direction == "command" and not part.last then
    sub:add(f_note, "command continues in the next STORE DATA block")
  end
  if part.data and part.data:len() > 0 then
    local dtvb = part.data:tvb("ES10 " .. part.direction .. " " .. key)
    add_tlvs(sub, dtvb, part.data, 0, part.data:len(), part.bpp_part and "BPP" or nil, 0, part.direction)
    local res = part.direction == "response" and part.tag and RESULTS[part.tag]
    if res and part.data:len() >= 6 then
      local tag, _, hlen = tlv_header(part.data, 0, part.data:len())
      local itag, _, ihlen, ilen = tlv_header(part.data, hlen, part.data:len())
      if tag and itag == "80" and ilen == 1 then
        local v = part.data:get_index(hlen + ihlen)
        sub:add(f_result, string.format("%s = %s (%d)", res[1], res[2][v] or "?", v))
      end
    end
  end
  return label
end

local function add_atr(tvb, pinfo, tree, message)
  local hex = message:match("^ATR (%x+)$")
  if not hex then return end
  local atr = ByteArray.new(hex)
  Dissector.get("iso7816.atr"):call(atr:tvb("ATR"), pinfo, tree)
end

function es10.dissector(tvb, pinfo, tree)
  local port = udp_dstport()
  if not port or port.value ~= GSMTAP_PORT then return end
  local gsmtap = port.offset + 6 -- udp.dstport sits 2 bytes into the 8-byte UDP header
  if gsmtap + 16 > tvb:len() then return end
  local gsmtap_type = tvb(gsmtap + 2, 1):uint()
  local off = gsmtap + tvb(gsmtap + 1, 1):uint() * 4
  if gsmtap_type == 0x10 then
    local s = gsmtap_log_string()
    if not s then return end
    local text = tostring(s.value)
    -- the legend record starts each bridgelab trace: traces appended into one file (mergecap -a)
    -- start their ES10 conversations afresh
    if not pinfo.visited and text:find("^bridgelab APDU trace") then channels = {} end
    add_atr(tvb, pinfo, tree, text)
    return
  end
  local src = ip_src()
  if gsmtap_type ~= 4 or not src or off >= tvb:len() then return end
  local key = tostring(src.value)
  local result = frames[pinfo.number]
  if not pinfo.visited and result == nil then
    result = analyse(tvb(off):bytes(), key) or false
    frames[pinfo.number] = result
  end
  if not result then return end
  local parts = { add_part(tree, tvb, result, key) }
  if result.direction == "command" and result.response then table.insert(parts, add_part(tree, tvb, result.response, key)) end
  pinfo.cols.info:append(" [ES10 " .. table.concat(parts, "; ") .. "]")
end

register_postdissector(es10)
