import { readFileSync } from 'node:fs';
import fengari, { type LuaState } from 'fengari';

/**
 * Runs docs/argocd-health.lua the way Argo CD does: the live object as the global `obj`, the
 * script's returned table read for status and message. Only the base, string and table libraries
 * are open, because Argo CD's sandbox offers little more; a script that leaned on anything else
 * would pass here and fail there. Shared by the unit test (a table of objects) and the e2e test
 * (objects as the operator really writes them).
 */

const { lua, lauxlib, lualib, to_luastring } = fengari;
const script = readFileSync(new URL('../../../docs/argocd-health.lua', import.meta.url), 'utf8');

export interface ArgoHealth {
  status: string;
  message: string;
}

function push(L: LuaState, value: unknown): void {
  if (value === null || value === undefined) lua.lua_pushnil(L);
  else if (typeof value === 'boolean') lua.lua_pushboolean(L, value);
  else if (typeof value === 'number') {
    // Integers stay integers, so tostring(generation) reads "3" as Argo CD shows it.
    if (Number.isInteger(value)) lua.lua_pushinteger(L, value);
    else lua.lua_pushnumber(L, value);
  } else if (typeof value === 'string') lua.lua_pushstring(L, to_luastring(value));
  else if (Array.isArray(value)) {
    lua.lua_createtable(L, value.length, 0);
    value.forEach((item, i) => {
      push(L, item);
      lua.lua_rawseti(L, -2, i + 1);
    });
  } else if (typeof value === 'object') {
    // JSON null becomes an absent key, as in Argo CD.
    const entries = Object.entries(value).filter(([, v]) => v !== null && v !== undefined);
    lua.lua_createtable(L, 0, entries.length);
    for (const [key, item] of entries) {
      push(L, item);
      lua.lua_setfield(L, -2, to_luastring(key));
    }
  } else throw new Error(`cannot pass ${typeof value} to Lua`);
}

export function argocdHealth(obj: unknown): ArgoHealth {
  const L = lauxlib.luaL_newstate();
  lauxlib.luaL_requiref(L, to_luastring('_G'), lualib.luaopen_base, 1);
  lauxlib.luaL_requiref(L, to_luastring('string'), lualib.luaopen_string, 1);
  lauxlib.luaL_requiref(L, to_luastring('table'), lualib.luaopen_table, 1);
  lua.lua_settop(L, 0);
  push(L, obj);
  lua.lua_setglobal(L, to_luastring('obj'));
  if (lauxlib.luaL_loadstring(L, to_luastring(script)) !== lua.LUA_OK) throw new Error(`script does not compile: ${lua.lua_tojsstring(L, -1)}`);
  if (lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) throw new Error(`script failed: ${lua.lua_tojsstring(L, -1)}`);
  if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) throw new Error('script returned no table');
  const field = (name: string) => {
    lua.lua_getfield(L, -1, to_luastring(name));
    const text = lua.lua_tojsstring(L, -1);
    lua.lua_pop(L, 1);
    return text ?? '';
  };
  return { status: field('status'), message: field('message') };
}
