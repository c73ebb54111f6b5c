/** Numbers of the MySQL/MariaDB protocol shared by the session and the resynchronisation. */

/** A packet of this length is full: the payload goes on in the next packet (payloads of 16 MiB and more). */
export const FULL_PACKET_LENGTH = 0xffffff;

/** Command codes: the first payload byte of every packet a client starts an exchange with. */
export const Com = {
  Quit: 0x01,
  InitDb: 0x02,
  Query: 0x03,
  FieldList: 0x04,
  Statistics: 0x09,
  ProcessKill: 0x0c,
  Debug: 0x0d,
  Ping: 0x0e,
  ChangeUser: 0x11,
  BinlogDump: 0x12,
  StmtPrepare: 0x16,
  StmtExecute: 0x17,
  StmtSendLongData: 0x18,
  StmtClose: 0x19,
  StmtReset: 0x1a,
  SetOption: 0x1b,
  StmtFetch: 0x1c,
  ResetConnection: 0x1f,
  /** MariaDB: array binding. */
  StmtBulkExecute: 0xfa,
} as const;

const NAMES = new Map<number, string>([
  [Com.Quit, 'COM_QUIT'],
  [Com.InitDb, 'COM_INIT_DB'],
  [Com.Query, 'COM_QUERY'],
  [Com.FieldList, 'COM_FIELD_LIST'],
  [Com.Statistics, 'COM_STATISTICS'],
  [Com.ProcessKill, 'COM_PROCESS_KILL'],
  [Com.Debug, 'COM_DEBUG'],
  [Com.Ping, 'COM_PING'],
  [Com.ChangeUser, 'COM_CHANGE_USER'],
  [Com.BinlogDump, 'COM_BINLOG_DUMP'],
  [Com.StmtPrepare, 'COM_STMT_PREPARE'],
  [Com.StmtExecute, 'COM_STMT_EXECUTE'],
  [Com.StmtSendLongData, 'COM_STMT_SEND_LONG_DATA'],
  [Com.StmtClose, 'COM_STMT_CLOSE'],
  [Com.StmtReset, 'COM_STMT_RESET'],
  [Com.SetOption, 'COM_SET_OPTION'],
  [Com.StmtFetch, 'COM_STMT_FETCH'],
  [Com.ResetConnection, 'COM_RESET_CONNECTION'],
  [Com.StmtBulkExecute, 'COM_STMT_BULK_EXECUTE'],
]);

export function commandName(code: number): string {
  return NAMES.get(code) ?? `COM_0x${code.toString(16).padStart(2, '0')}`;
}

/**
 * Codes a client may send, named or not: the protocol's range 0x00–0x1F and MariaDB's two extensions (bulk
 * execute, and COM_MULTI, which older connectors send). Any other first byte of a sequence-0 packet means the
 * stream is not where it was thought to be.
 */
export function isCommandCode(code: number): boolean {
  return code <= 0x1f || code === Com.StmtBulkExecute || code === 0xfe;
}

/** The server sends nothing back: such commands are recorded as soon as they are seen. */
export function isUnanswered(code: number): boolean {
  return code === Com.Quit || code === Com.StmtClose || code === Com.StmtSendLongData;
}

/** Server status flags, in OK and EOF packets. */
export const ServerStatus = {
  MoreResultsExists: 0x0008,
  SessionStateChanged: 0x4000,
} as const;
