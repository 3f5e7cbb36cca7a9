      * SPDX-License-Identifier: MIT
      * A COBOL program: a block from C's malloc whose pointer is dropped,
      * working storage, a PERFORM loop, string functions. With the
      * argument "clean" the block is freed. expect-exit: 7
       IDENTIFICATION DIVISION.
       PROGRAM-ID. COBOL-LEAK.
       DATA DIVISION.
       WORKING-STORAGE SECTION.
       01 WS-PTR     USAGE POINTER.
       01 WS-LEN     PIC 9(4) COMP VALUE 72.
       01 WS-ARG     PIC X(16) VALUE SPACES.
       01 WS-I       PIC 9(4) VALUE 0.
       01 WS-SUM     PIC 9(8) VALUE 0.
       01 WS-NAME    PIC X(20) VALUE "LEAKSCOPE".
       PROCEDURE DIVISION.
           ACCEPT WS-ARG FROM COMMAND-LINE.
           CALL "malloc" USING BY VALUE WS-LEN RETURNING WS-PTR.
      *    expect-generated-leak: fn=COBOL__LEAK_ blocks=1 bytes=72
           PERFORM VARYING WS-I FROM 1 BY 1 UNTIL WS-I > 100
               ADD WS-I TO WS-SUM
           END-PERFORM.
           DISPLAY "SUM " WS-SUM.
           DISPLAY "NAME " FUNCTION TRIM(WS-NAME).
           IF WS-ARG = "clean"
               CALL "free" USING BY VALUE WS-PTR
           END-IF.
           SET WS-PTR TO NULL.
           MOVE 7 TO RETURN-CODE.
           STOP RUN.
